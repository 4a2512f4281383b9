"""Legal time: the working-day calendar and the period rules of Chinese law.

Pure code: no temporalio import, no clock, no I/O. Holiday files are read by
`activities.holidays` and handed to `holidays` as text.
"""
