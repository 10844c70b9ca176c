package dev.offload.supervisor.job;

import java.util.ArrayDeque;
import java.util.List;

/**
 * The jobs waiting for a worker, first in first out, with a bound. Not thread-safe: the {@link
 * Dispatcher} guards it with its lock.
 */
final class JobQueue {

  private final int capacity;
  private final ArrayDeque<Job> jobs = new ArrayDeque<>();

  JobQueue(int capacity) {
    if (capacity < 1) {
      throw new IllegalArgumentException("the queue needs room for at least 1 job, got " + capacity);
    }
    this.capacity = capacity;
  }

  /** Adds a job at the back; false if the queue is full. */
  boolean offer(Job job) {
    if (jobs.size() >= capacity) {
      return false;
    }
    jobs.addLast(job);
    return true;
  }

  /** Puts a job that was already accepted back at the front, bound or not: it is owed a worker. */
  void returnToFront(Job job) {
    jobs.addFirst(job);
  }

  /** Adds a job that was already accepted at the back, bound or not (one an earlier service left). */
  void returnToBack(Job job) {
    jobs.addLast(job);
  }

  /** The next job without taking it, or null. */
  Job peek() {
    return jobs.peekFirst();
  }

  /** The next job, or null. */
  Job poll() {
    return jobs.pollFirst();
  }

  boolean remove(Job job) {
    return jobs.remove(job);
  }

  /** Removes and returns every job, oldest first. */
  List<Job> drain() {
    List<Job> all = List.copyOf(jobs);
    jobs.clear();
    return all;
  }

  boolean contains(Job job) {
    return jobs.contains(job);
  }

  int size() {
    return jobs.size();
  }

  int capacity() {
    return capacity;
  }
}
