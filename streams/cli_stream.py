"""Streaming commands: worker, demo, deadletters (filled in by the Kafka layer)."""

from __future__ import annotations

import argparse

from application.settings import Settings
from streams.cli import CommandError


def worker(args: argparse.Namespace, settings: Settings) -> int:
    raise CommandError("the Faust worker is not available in this build")


def demo(args: argparse.Namespace, settings: Settings) -> int:
    raise CommandError("demo is not available in this build")


def deadletters(args: argparse.Namespace, settings: Settings) -> int:
    raise CommandError("dead letters are not available in this build")
