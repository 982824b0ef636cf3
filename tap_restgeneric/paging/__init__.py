"""From a request to records: the ``Page`` everything passes around, request building, reading a response
(response actions, selectors), the paginators and the page loop with its look-ahead."""
