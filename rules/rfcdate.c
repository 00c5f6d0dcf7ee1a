/*
 * rfcdate.c - SpamAssassin's date parser in C (see rfcdate.h).
 *
 * SECURITY: dates come from mail headers. The input is copied into a
 * bounded buffer and split into at most MAX_TOK tokens; numbers are
 * range-checked before use.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "rules/rfcdate.h"

#define MAX_TOK	64

static const char *const months[] = { "jan", "feb", "mar", "apr", "may",
    "jun", "jul", "aug", "sep", "oct", "nov", "dec" };

static const struct { const char *name; int off; } zones[] = {
	{ "UT", 0 }, { "UTC", 0 }, { "NDT", -230 }, { "AST", -400 },
	{ "ADT", -300 }, { "NST", -330 }, { "EST", -500 }, { "EDT", -400 },
	{ "CST", -600 }, { "CDT", -500 }, { "MST", -700 }, { "MDT", -600 },
	{ "PST", -800 }, { "PDT", -700 }, { "HST", -1000 }, { "AKST", -900 },
	{ "AKDT", -800 }, { "HADT", -900 }, { "HAST", -1000 }, { "GMT", 0 },
	{ "BST", 100 }, { "IST", 100 }, { "WET", 0 }, { "WEST", 100 },
	{ "CET", 100 }, { "CEST", 200 }, { "EET", 200 }, { "EEST", 300 },
	{ "MSK", 300 }, { "MSD", 400 }, { "MET", 100 }, { "MEZ", 100 },
	{ "MEST", 200 }, { "MESZ", 200 }, { "BRST", -200 }, { "BRT", -300 },
	{ "AEST", 1000 }, { "AEDT", 1100 }, { "ACST", 930 }, { "ACDT", 1030 },
	{ "AWST", 800 }, { "NZST", 1200 }, { "NZDT", 1300 }, { "JST", 900 },
	{ "KST", 900 }, { "HKT", 800 }, { "SGT", 800 }, { "PHT", 800 },
	{ "IDT", 300 }, { NULL, 0 }
};

static int
month_of(const char *t)
{
	if (strlen(t) != 3)
		return 0;
	for (int i = 0; i < 12; i++)
		if (strcasecmp(t, months[i]) == 0)
			return i + 1;
	return 0;
}

static int
all_digits(const char *t, size_t min, size_t max)
{
	size_t n = strlen(t);

	if (n < min || n > max)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!isdigit((unsigned char)t[i]))
			return 0;
	return 1;
}

/* "H:MM", "HH:MM" or with ":SS": the whole token */
static int
is_time(const char *t, int *h, int *m, int *s)
{
	size_t i = 0;

	*h = *m = *s = 0;
	while (isdigit((unsigned char)t[i]) && i < 2)
		*h = *h * 10 + (t[i++] - '0');
	if (i == 0 || t[i] != ':' || !isdigit((unsigned char)t[i + 1]) ||
	    !isdigit((unsigned char)t[i + 2]))
		return 0;
	*m = (t[i + 1] - '0') * 10 + (t[i + 2] - '0');
	i += 3;
	if (t[i] == '\0')
		return 1;
	if (t[i] != ':' || !isdigit((unsigned char)t[i + 1]) ||
	    !isdigit((unsigned char)t[i + 2]) || t[i + 3] != '\0')
		return 0;
	*s = (t[i + 1] - '0') * 10 + (t[i + 2] - '0');
	return 1;
}

int
rfcdate_parse(const char *in, long long *out)
{
	char buf[512], *tok[MAX_TOK], *p, *save = NULL;
	int nt = 0, used[MAX_TOK] = { 0 };
	int dd = 0, mon = 0, yyyy = -1, hh = 0, mm = 0, ss = 0, ylen = 0;
	int tz = 0, i, maxdd;
	struct tm tm;
	long long t;

	if (in == NULL)
		return 0;
	strncpy(buf, in, sizeof(buf) - 1);
	buf[sizeof(buf) - 1] = '\0';
	for (p = buf; *p; p++)
		if (*p == ',' || isspace((unsigned char)*p))
			*p = ' ';
	for (p = strtok_r(buf, " ", &save); p && nt < MAX_TOK;
	    p = strtok_r(NULL, " ", &save))
		tok[nt++] = p;
	/* the three date layouts, in SpamAssassin's order */
	for (i = 0; i + 2 < nt && yyyy < 0; i++)
		if (all_digits(tok[i], 1, 9) && month_of(tok[i + 1]) &&
		    all_digits(tok[i + 2], 4, 4)) {
			dd = atoi(tok[i]);
			mon = month_of(tok[i + 1]);
			yyyy = atoi(tok[i + 2]);
			ylen = 4;
			used[i] = used[i + 1] = used[i + 2] = 1;
		}
	for (i = 0; i + 3 < nt && yyyy < 0; i++) {
		int h, m, s;

		if (month_of(tok[i]) && all_digits(tok[i + 1], 1, 9) &&
		    is_time(tok[i + 2], &h, &m, &s) &&
		    all_digits(tok[i + 3], 4, 4)) {
			mon = month_of(tok[i]);
			dd = atoi(tok[i + 1]);
			yyyy = atoi(tok[i + 3]);
			ylen = 4;
			used[i] = used[i + 1] = used[i + 3] = 1;
		}
	}
	for (i = 0; i + 2 < nt && yyyy < 0; i++)
		if (all_digits(tok[i], 1, 9) && month_of(tok[i + 1]) &&
		    all_digits(tok[i + 2], 2, 3)) {
			dd = atoi(tok[i]);
			mon = month_of(tok[i + 1]);
			yyyy = atoi(tok[i + 2]);
			ylen = (int)strlen(tok[i + 2]);
			used[i] = used[i + 1] = used[i + 2] = 1;
		}
	if (yyyy < 0)
		return 0;
	if (ylen == 2 && yyyy < 50)
		yyyy += 2000;
	else if (ylen != 4)
		yyyy += 1900;
	for (i = 0; i < nt; i++)
		if (!used[i] && is_time(tok[i], &hh, &mm, &ss)) {
			used[i] = 1;
			break;
		}
	for (i = 0; i < nt; i++) {
		const char *z = tok[i];

		if (used[i])
			continue;
		if ((z[0] == '+' || z[0] == '-') && all_digits(z + 1, 4, 4)) {
			tz = atoi(z + 1) * (z[0] == '-' ? -1 : 1);
			used[i] = 1;
			break;
		}
	}
	if (i == nt) {
		/* the first 2-4 capital-letter word, if it names a zone */
		for (i = 0; i < nt; i++) {
			char w[16];
			const char *z = tok[i];
			size_t k = 0;

			if (used[i])
				continue;
			while (*z && !isupper((unsigned char)*z))
				z++;
			while (isupper((unsigned char)z[k]) && k < 6)
				k++;
			if (k < 2 || k > 4 || isalnum((unsigned char)z[k]))
				continue;
			if (z != tok[i] && isalnum((unsigned char)z[-1]))
				continue;
			memcpy(w, z, k);
			w[k] = '\0';
			for (int j = 0; zones[j].name; j++)
				if (strcmp(zones[j].name, w) == 0) {
					tz = zones[j].off;
					break;
				}
			break;
		}
	}
	if (ss > 59)
		ss = 59;
	if (mm > 59)
		mm = 59;
	if (hh > 23)
		hh = 23;
	maxdd = 31;
	if (mon == 4 || mon == 6 || mon == 9 || mon == 11)
		maxdd = 30;
	else if (mon == 2)
		maxdd = (!(yyyy % 4) && ((yyyy % 100) || !(yyyy % 400))) ? 29 :
		    28;
	if (dd > maxdd) {
		dd = 1;
		if (++mon > 12) {
			mon = 1;
			yyyy++;
		}
	}
	if (yyyy > 2037)
		yyyy = 2037;
	else if (yyyy < 1970)
		yyyy = 1970;
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = yyyy - 1900;
	tm.tm_mon = mon - 1;
	tm.tm_mday = dd;
	tm.tm_hour = hh;
	tm.tm_min = mm;
	tm.tm_sec = ss;
	t = (long long)timegm(&tm);
	{
		long long off = ((tz < 0 ? -tz : tz) / 100 * 60 +
		    (tz < 0 ? -tz : tz) % 100) * 60;

		if (tz < 0)
			t += off;
		else if (t < off)
			t = 0;
		else
			t -= off;
	}
	*out = t;
	return 1;
}
