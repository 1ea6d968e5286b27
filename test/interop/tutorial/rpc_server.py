#!/usr/bin/env python3
"""RabbitMQ tutorial six's RPC server (Python, pika), for the interoperability tests.

It follows the tutorial: declare the queue exactly as the tutorial does, take one request at a
time, answer fib(n) to the request's reply_to with its correlation_id, then ack. Two additions
keep it test-friendly: the queue name comes from RPC_QUEUE, and it stops by itself after 60 s or
on SIGTERM.
"""
import os
import signal
import sys
import time

import pika

QUEUE = os.environ.get('RPC_QUEUE', 'rpc_queue')
LIFETIME_SECONDS = 60

connection = pika.BlockingConnection(pika.URLParameters(os.environ.get('AMQP_URL', 'amqp://guest:guest@localhost')))
channel = connection.channel()

channel.queue_declare(queue=QUEUE)


def fib(n):
    if n == 0:
        return 0
    elif n == 1:
        return 1
    else:
        return fib(n - 1) + fib(n - 2)


def on_request(ch, method, props, body):
    n = int(body)

    print(f" [.] fib({n})", flush=True)
    response = fib(n)

    ch.basic_publish(exchange='',
                     routing_key=props.reply_to,
                     properties=pika.BasicProperties(correlation_id=props.correlation_id),
                     body=str(response))
    ch.basic_ack(delivery_tag=method.delivery_tag)


stop_requested = False


def on_sigterm(_signum, _frame):
    # Only set a flag: pika is not safe to call from a signal handler.
    global stop_requested
    stop_requested = True


def watch_for_stop():
    if stop_requested or time.monotonic() >= deadline:
        channel.stop_consuming()
    else:
        connection.call_later(0.1, watch_for_stop)


channel.basic_qos(prefetch_count=1)
channel.basic_consume(queue=QUEUE, on_message_callback=on_request)

deadline = time.monotonic() + LIFETIME_SECONDS
signal.signal(signal.SIGTERM, on_sigterm)
connection.call_later(0.1, watch_for_stop)

print(" [x] Awaiting RPC requests", flush=True)
try:
    channel.start_consuming()
finally:
    if connection.is_open:
        connection.close()
sys.exit(0)
