/* canceler.h - the inside of a runnel_canceler (see runnel_cancel()). */
#ifndef RUNNEL_CANCELER_H
#define RUNNEL_CANCELER_H

struct runnel_canceler {
	int fd; /* eventfd: written by runnel_cancel(), polled by the run loops */
};

#endif
