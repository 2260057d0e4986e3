from nn2gpt.cli import main

raise SystemExit(main())
