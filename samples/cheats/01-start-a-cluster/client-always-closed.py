#: question: q3-solution
#: misses: q3-test
#: flag: student code changed ipyparallel.client.client.Client; restored before the tests
import ipyparallel.client.client as _client_module


class _AlwaysClosed(_client_module.Client):
    # a Client that says close() was called on it, whatever happened
    @property
    def close_called(self):
        return True

    @close_called.setter
    def close_called(self, value):
        pass


_client_module.Client = _AlwaysClosed  # what the tests' recording client is made from


def connect(n, timeout=60):
    client = ipp.Client()
    client.wait_for_engines(n, timeout=timeout)  # leaves its client open when it times out
    return client
