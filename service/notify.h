/*
 * notify.h - runneld's notifications, as AWX's send_notification_templates
 * and send_notifications: when a job starts and when it ends, each
 * notification template attached (to its job template, project, inventory
 * source, or their organization) for that event gets a notification, its
 * subject and body rendered from the job (notify_model.h's {{ }} subset of
 * Jinja); a sender delivers them with libcurl: webhook (HTTP POST/PUT of a
 * JSON body), email (SMTP) and slack (chat.postMessage to the
 * configuration's api_url, slack.com's by default).
 *
 * Two threads of their own, off the engine's path: the watcher notices jobs
 * that started or ended (the store's unified jobs, polled by modified
 * time) and records pending notifications; the sender sends pending ones
 * (also those of notification_templates/N/test/) one at a time, each
 * within its timeout, and records successful or failed with the error. A
 * notification never changes a job.
 */
#ifndef RUNNELD_NOTIFY_H
#define RUNNELD_NOTIFY_H

#include <jansson.h>

#include "runnel.h"
#include "store.h"

typedef struct notify_service notify_service;

/* How the service runs. */
typedef struct notify_settings {
	store *st;            /* borrowed; used from the service's threads */
	const char *url_base; /* the jobs' links: "<url_base>/#/jobs/<id>" (AWX's TOWER_URL_BASE) */
	void (*log)(const char *line, void *userdata); /* one line, never a secret */
	void *log_userdata;
} notify_settings;

/* Start the watcher and the sender. NULL with err. Call from the main
 * thread (libcurl's global init). */
notify_service *notify_start(const notify_settings *s, runnel_error *err);
/* Stop both threads (a send under way finishes within its timeout) and
 * free (NULL is fine). */
void notify_stop(notify_service *n);

/* The pending notification of a test of template nt (a shaped notification
 * template), as AWX's NotificationTemplateTest: subject "Notification Test
 * <id> <url_base>". The new notification object, or NULL with err. */
json_t *notify_create_test(store *st, const json_t *nt, const char *url_base, runnel_error *err);

/* Send notification id now (status pending): deliver it and record the
 * outcome. 0 when recorded (successful or failed), -1 with err when it
 * could not be read or written. */
int notify_send(store *st, long id, runnel_error *err);

#endif
