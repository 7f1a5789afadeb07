"""The ``xietong`` command: the project's manage.py."""

from __future__ import annotations

import sys

from xietong.boot import configure_or_exit


def main() -> None:
    import django

    configure_or_exit(django.setup)
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
