"""Where started campaign plans are kept, so later commands (refer a lead, export) know the units.

Plans are small and change rarely: one JSON file per campaign under the data
directory, replaced atomically when the campaign is started again.
"""

import os
import tempfile
from pathlib import Path

from schemas.plan import CampaignPlan


class CampaignNotFoundError(LookupError):
    pass


class CampaignStore:
    def __init__(self, root: Path) -> None:
        self.root = root

    def save(self, plan: CampaignPlan) -> Path:
        self.root.mkdir(parents=True, exist_ok=True)
        path = self.root / f"{plan.id}.json"
        fd, tmp = tempfile.mkstemp(dir=self.root, prefix=".tmp-")
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(plan.model_dump_json(indent=2))
        os.replace(tmp, path)
        return path

    def load(self, campaign_id: str) -> CampaignPlan:
        path = self.root / f"{campaign_id}.json"
        if not path.is_file():
            raise CampaignNotFoundError(f"no started campaign {campaign_id!r} (run `duban campaign start FILE` first)")
        return CampaignPlan.model_validate_json(path.read_text(encoding="utf-8"))

    def ids(self) -> list[str]:
        return sorted(p.stem for p in self.root.glob("*.json")) if self.root.is_dir() else []
