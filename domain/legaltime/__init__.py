"""Legal time: the working-day calendar and the period rules of Chinese law.

Pure code: no temporalio import, no clock, no I/O (except `data`, which loads
holiday data and is never called from workflow code).
"""
