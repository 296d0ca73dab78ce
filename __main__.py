"""``python -m huisou`` runs the same entry point as the ``huisou`` console script."""

from huisou.cli.main import main

if __name__ == "__main__":
    main()
