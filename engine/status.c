/* status.c - names for enum status. */
#include "status.h"

const char *
status_str(enum status st)
{
	switch (st) {
	case ST_OK:		return "ok";
	case ST_NOTFOUND:	return "not found";
	case ST_ERR_IO:		return "I/O error";
	case ST_ERR_PARSE:	return "parse error";
	case ST_ERR_LIMIT:	return "limit reached";
	case ST_ERR_CONFIG:	return "configuration error";
	case ST_ERR_TEMP:	return "temporary failure";
	case ST_ERR_BUSY:	return "resource busy";
	case ST_ERR_TIMEOUT:	return "timed out";
	case ST_ERR_INTERNAL:	return "internal error";
	}
	return "unknown status";
}
