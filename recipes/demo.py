"""``make demo``: a short tour of cadence. Run: ``python -m recipes.demo``."""

from __future__ import annotations

import asyncio

from recipes import seed_tour


def main() -> None:
    asyncio.run(seed_tour.main())


if __name__ == "__main__":
    main()
