"""`nn2gpt learn`: a workbook in which the learner writes each piece of the road.

    exercises.py      the road's exercises: task, hints, stub, solution (= reference), check
    workbook.py       the learner's directory: exercise files, progress, backups
    runner.py         a check in a child process with a time limit; errors trimmed to the learner's line
    checking.py       shapes by name, comparisons that name the common mistake, finite differences
    ch1/              chapter 1 (numpy, the book's network.py): the Network and the checks
    milestone_digits  `learn run digits`: MNIST trained with the learner's functions
    workbook/, solutions/   the stubs `init` copies and the reference solutions
"""
