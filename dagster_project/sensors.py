"""Sensors (landing-folder watcher). Filled in by the operations stage."""

sensors: list = []
