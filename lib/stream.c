/* stream.c - being written (issue 4) */
