"""train -> classifier -> evaluate -> export, each resuming or skipping finished work.

/usr/bin/python3 -m training.digits.all
"""

from __future__ import annotations

import sys

from . import config as C


def main() -> None:
    from . import classifier, evaluate, export, train

    argv = sys.argv
    sys.argv = [argv[0]]
    train.main()
    if not (C.RUN_DIR / "classifier.pt").exists():
        classifier.main()
    evaluate.main()
    export.main()


if __name__ == "__main__":
    main()
