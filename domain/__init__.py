"""The ground floor: pure domain code (no temporalio, no I/O, no clock) that every layer above uses."""
