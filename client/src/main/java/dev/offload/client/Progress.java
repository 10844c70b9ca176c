package dev.offload.client;

/**
 * A progress report from a running job's handler.
 *
 * @param fraction how much is done, from 0.0 to 1.0; negative when the handler gave no fraction
 * @param message a short human-readable message; empty if the handler gave none
 */
public record Progress(double fraction, String message) {}
