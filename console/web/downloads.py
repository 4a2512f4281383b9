"""Downloads of a unit's submitted files, read from the blob store (local or S3) and checked on the way.

A file is served only when the unit's own submissions name it: the hash in the
URL picks among those references, never straight from the store, so an
operator's link or a unit's portal token reaches exactly that unit's files.
The content is verified before the first byte goes out (a damaged or missing
blob is a clear 404 page, not half a file), and always sent as an attachment
with the headers every download of the console uses (console/submissions.file_headers), so
nothing uploaded is ever rendered as a page of the console.
"""

from fastapi import Request
from fastapi.responses import Response, StreamingResponse

from activities.blobs import BlobNotFoundError
from console import submissions as subs
from console.web.context import ctx
from domain.submission_caps import files_of
from schemas.blobs import BlobRef
from schemas.cycle import UnitView
from workers.objects import blob_store


async def file_response(request: Request, view: UnitView, sha256: str, error_page: str) -> Response:
    """The file of `view`'s submissions with this hash, or `error_page` saying why not."""
    c = ctx(request)
    ref = next((r for s in view.state.submissions for r in files_of(s) if r.sha256 == sha256), None)
    if ref is None:
        return c.render(request, error_page, status_code=404, reason="没有这份材料", detail="没有这份材料")
    return await verified_file(request, ref, error_page)


async def verified_file(request: Request, ref: BlobRef, error_page: str) -> Response:
    """`ref`'s content, verified before the first byte goes out, as a download with its own name."""
    c = ctx(request)
    store = blob_store(c.settings)
    try:
        await store.verify(ref)
    except BlobNotFoundError:
        why = f"材料「{ref.name}」在存储中缺失或已损坏，请联系办公室"
        return c.render(request, error_page, status_code=404, reason=why, detail=why)
    return StreamingResponse(
        store.chunks(ref), media_type="application/octet-stream", headers=subs.file_headers(ref.name, inline=False)
    )
