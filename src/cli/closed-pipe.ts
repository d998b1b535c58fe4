/**
 * `qbench … | head` may close stdout or stderr early: that is the reader's choice, not an error.
 * What is written after is dropped (the stream is destroyed and discards it); the command goes on,
 * stores what it stores and exits with the code it would have given.
 */
export function ignoreClosedPipe(stream: NodeJS.WriteStream): void {
  stream.on("error", (error: NodeJS.ErrnoException) => {
    if (error.code !== "EPIPE") throw error;
  });
}
