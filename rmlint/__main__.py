from .fast_cli import main

main()
