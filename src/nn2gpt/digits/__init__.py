"""Chapter 1: Nielsen's MNIST digit network, from scratch in numpy (no torch anywhere here).

    from nn2gpt.digits import Network
    net = Network([784, 30, 10], seed=0)
    net.SGD(training_data, 30, 10, 3.0, test_data=test_data)

`Network` is imported lazily so that `nn2gpt digits --help` does not wait for numpy.
"""

__all__ = ["Network"]


def __getattr__(name):
    if name == "Network":
        from nn2gpt.digits.network import Network

        return Network
    raise AttributeError(f"module 'nn2gpt.digits' has no attribute {name!r}")
