"""Schedules (nightly rebuild). Filled in by the operations stage."""

schedules: list = []
