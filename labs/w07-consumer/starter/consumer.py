"""The consumer loop: poll a batch, dead-letter the invalid records, apply the valid ones in one transaction.

It runs in its own thread, so the HTTP server answers /healthz before (and whether) the broker is reachable.
"""

import time

from confluent_kafka import Consumer, KafkaException, Producer, TopicPartition

import events

# Records per poll: throughput comes from applying (and later committing) many records at once.
BATCH = 500


def consumer_config(cfg):
    return {
        "bootstrap.servers": cfg.bootstrap_servers,
        "group.id": cfg.group_id,
        # Auto-commit commits on a timer, whatever your code has done: your code commits, after the effects.
        "enable.auto.commit": False,
        # A partition the group has committed nothing for is read from the beginning: events may be produced
        # before you start.
        "auto.offset.reset": "earliest",
    }


def producer_config(cfg):
    return {
        "bootstrap.servers": cfg.bootstrap_servers,
        # The broker acknowledges a dead letter only once it has stored it.
        "acks": "all",
        "message.timeout.ms": 10000,
    }


class DeadLetters:
    """Sends invalid records to the dead-letter topic and waits for the broker to acknowledge them."""

    def __init__(self, cfg):
        self._producer = Producer(producer_config(cfg))
        self._topic = cfg.dlq_topic

    def send(self, dead):
        """`dead` is a list of (message, reason). Returns once every one is acknowledged; retries otherwise."""
        while dead:
            failed = []
            for msg, reason in dead:
                def report(err, _record, msg=msg, reason=reason):
                    if err is not None:
                        print(f"dead letter not delivered ({err}); retrying", flush=True)
                        failed.append((msg, reason))

                self._producer.produce(
                    self._topic,
                    key=msg.key(),
                    value=msg.value(),
                    headers=[("error", reason.encode())],
                    on_delivery=report,
                )
            # flush() serves the delivery reports: when it returns 0, each record was acknowledged or failed.
            while self._producer.flush(5) > 0:
                print("waiting for the broker to acknowledge dead letters", flush=True)
            dead = failed
            if dead:
                time.sleep(1)


def run(cfg, store, stop):
    """Consumes until `stop` is set."""
    consumer = Consumer(consumer_config(cfg))
    dead_letters = DeadLetters(cfg)
    # The service is the group's only member, so it assigns itself every partition rather than joining through
    # the group protocol: a restart after a kill resumes at once, with no rebalance to wait out. Each partition
    # starts at the group's committed offset, and what you commit is still the group's.
    partitions = all_partitions(consumer, cfg.topic)
    consumer.assign(partitions)
    print(f"consumer: reading {len(partitions)} partitions of {cfg.topic} for group {cfg.group_id}", flush=True)
    try:
        while not stop.is_set():
            batch = consumer.consume(num_messages=BATCH, timeout=0.5)
            if batch:
                process(batch, store, dead_letters)
                # TODO(week 7): commit the batch's offsets to the group, synchronously, only now that its
                # effects are durable: consumer.commit(asynchronous=False) commits the offsets of what
                # consume() returned. Never before the transaction: a crash in between would skip records
                # nobody applied.
    finally:
        consumer.close()


def all_partitions(consumer, topic):
    """The topic's partitions, from the broker's metadata (the topic exists before the service starts)."""
    metadata = consumer.list_topics(topic, timeout=10).topics[topic]
    if metadata.error is not None:
        raise KafkaException(metadata.error)
    return [TopicPartition(topic, p) for p in sorted(metadata.partitions)]


def process(batch, store, dead_letters):
    valid, dead = [], []
    for msg in batch:
        if msg.error() is not None:
            # Errors the client reports in-band (e.g. a broker briefly unreachable); it retries by itself.
            print(f"consumer: {msg.error()}", flush=True)
            continue
        event, reason = events.parse(msg.value())
        if event is None:
            dead.append((msg, reason))
        else:
            valid.append(event)
    # Dead letters are acknowledged before the batch counts as processed: never dropped silently.
    dead_letters.send(dead)
    store.apply_batch(valid)


def run_forever(cfg, store, stop):
    """Runs the loop, and starts it again if the client fails, so one broker hiccup does not end consuming."""
    while not stop.is_set():
        try:
            run(cfg, store, stop)
        except KafkaException as err:
            print(f"consumer: {err}; restarting in 1 s", flush=True)
            time.sleep(1)
