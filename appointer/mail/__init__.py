"""Email: rendering (render), queueing in the transaction (appointer.outbox), delivery."""
