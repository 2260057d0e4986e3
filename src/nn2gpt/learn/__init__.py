"""`nn2gpt learn`: a workbook in which the learner writes each piece of the road.

    registry.py       the road's exercises in order (one folder each, found by listing), found by name
    loading.py        a workbook file or a solution imported as a fresh module; a name taken from it
    book.py           the learner's workbook: exercise files, progress, backups
    recover.py        a workbook whose progress file is corrupt or gone, rebuilt from its exercise files
    hints.py          which hint comes next: the one for the mistake the last check named, then the ladder
    runner.py         a check in a child process with a time limit; errors trimmed to the learner's line
    warm.py           the warm checker: a process per workbook, torch imported, forking a child per check
    keys.py           `learn watch`'s single keys from a terminal (cbreak mode, always restored)
    actions.py        what those keys do, and `learn check --all`
    printed.py        what a check's code prints: its first lines kept, the rest counted, never held
    checking.py       shapes and types by name, comparisons that name the common mistake, finite
                      differences, inputs changed in place
    trace.py          `learn trace NAME`: every variable's shape, line by line, on one real example
    tracer.py         its child: sys.settrace on the learner's file; shapes.py says what a value is
    example_data.py   the trace examples' real data (MNIST, Tiny Shakespeare, Multi30k)
    ch0/              chapter 0 (plain Python): byte-level BPE, the regex split, GPT-2's byte table
    ch1/              chapter 1 (numpy, the book's network.py): the Network and the checks
    ch2/              chapter 2 (PyTorch): the lecture's modules, checked against chapter 2's
    ch3/              chapter 3 (PyTorch): padding, cross-attention, label smoothing, greedy decoding
    ch4/              chapter 4: the squared and inverse scores, the anticausal mask
    ch5/              chapter 5 (numpy): the GPT's backward passes and their checks
    milestone_tokens      `learn run tokens`: the learner's BPE, then a GPT on its tokens beside a char one
    milestone_digits      `learn run digits`: MNIST trained with the learner's functions
    milestone_gpt         `learn run gpt`: chapter 2's GPT whose blocks run the learner's modules
    milestone_translate   `learn run translate`: de-en with the learner's cross-attention and greedy search
    milestone_lab         `learn run lab`: the learner's chapter-4 variants in the attention lab
    milestone_numpy_gpt   `learn run numpy-gpt`: the numpy GPT trained with the learner's backward passes
    chN/exNN_name/    one exercise: exercise.toml (its task, hints, mistakes), stub.py (what `init` copies
                      to NN_name.py), solution.py (the reference), check.py (its check and trace example);
                      chN/common.py holds what a chapter's checks and examples share
"""
