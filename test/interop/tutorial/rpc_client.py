#!/usr/bin/env python3
"""RabbitMQ tutorial six's RPC client (Python, pika), for the interoperability tests.

It follows the tutorial's FibonacciRpcClient: an exclusive, server-named callback queue, a
uuid4 correlation_id per call, and the answer picked out by correlation_id. Unlike the
tutorial it does not wait forever: no answer within 10 s exits with status 1. The queue name
comes from RPC_QUEUE; n from the first argument.
"""
import os
import sys
import time
import uuid

import pika

QUEUE = os.environ.get('RPC_QUEUE', 'rpc_queue')
DEADLINE_SECONDS = 10


class FibonacciRpcClient(object):

    def __init__(self):
        self.connection = pika.BlockingConnection(pika.URLParameters(os.environ.get('AMQP_URL', 'amqp://guest:guest@localhost')))
        self.channel = self.connection.channel()

        result = self.channel.queue_declare(queue='', exclusive=True)
        self.callback_queue = result.method.queue

        self.channel.basic_consume(queue=self.callback_queue,
                                   on_message_callback=self.on_response,
                                   auto_ack=True)

        self.response = None
        self.corr_id = None

    def on_response(self, ch, method, props, body):
        if self.corr_id == props.correlation_id:
            self.response = body

    def call(self, n):
        self.response = None
        self.corr_id = str(uuid.uuid4())
        self.channel.basic_publish(exchange='',
                                   routing_key=QUEUE,
                                   properties=pika.BasicProperties(reply_to=self.callback_queue,
                                                                   correlation_id=self.corr_id),
                                   body=str(n))
        deadline = time.monotonic() + DEADLINE_SECONDS
        while self.response is None:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return None
            self.connection.process_data_events(time_limit=min(remaining, 0.5))
        return int(self.response)

    def close(self):
        if self.connection.is_open:
            self.connection.close()


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 30
    fibonacci_rpc = FibonacciRpcClient()
    try:
        print(f" [x] Requesting fib({n})", flush=True)
        response = fibonacci_rpc.call(n)
        if response is None:
            print(f" [!] No answer from {QUEUE} within {DEADLINE_SECONDS} s", file=sys.stderr, flush=True)
            return 1
        print(f" [.] Got {response}", flush=True)
        return 0
    finally:
        fibonacci_rpc.close()


if __name__ == '__main__':
    sys.exit(main())
