"""The studio: a local web page that looks inside the networks you trained.

    nn2gpt studio [--runs runs] [--port 8000] [--host 127.0.0.1]

One server (Starlette + uvicorn) over the run directories under `--runs`. Each chapter has a
page and a module here that turns a request into the library's own calls:

    runs.py       which runs there are, and the models loaded once and kept in memory
    guard.py      what a request may do: its Host, its Origin, the run names it gives
    digits.py     a drawn digit -> the 28x28 input, hidden activations, 10 probabilities;
                  a hidden neuron -> its 784 incoming weights
    gpt.py        a prompt -> tokens as they are sampled; one position -> its attention and the
                  sampler's next-token distribution, with chosen heads turned off
    translate.py  a sentence -> its translation, cross- and self-attention, log-probabilities,
                  with chosen heads turned off
    jobs.py       one training run at a time, started and stopped from the page
    lab.py        the lab's report, and a toy for the score functions
    api.py        the requests of each page, turned into those modules' calls
    server.py     the routes, the error handling and the start-up
    static/       the page itself: plain HTML, CSS and JavaScript modules, nothing fetched from
                  the internet
"""
