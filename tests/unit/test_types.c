/* Unit tests of types: dates against the tables Go and Java give, type
 * inference, booleans, integers, doubles, decimals and binary values. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "loader/types.h"

/* One date case: a layout, a value, and whether the value parses and to
 * what (milliseconds since the Unix epoch, UTC). */
typedef struct date_case {
  const char *layout; /* the layout, as written in date(...) */
  const char *value;  /* the text */
  bool ok;            /* the value matches the layout */
  int64_t ms;         /* its instant, when ok */
} date_case_t;

/* What Go's time.Parse gives, for every layout element the loader supports
 * (2006 06 01 1 Jan January Mon Monday 02 _2 2 15 03 3 04 4 05 5 PM pm .000
 * ,000 .999 Z07:00 Z0700 Z07 -0700 -07:00 -07 -070000 -07:00:00 Z070000
 * Z07:00:00 MST) and invalid values. Made with go1.19.8 linux/amd64
 * (Debian's golang-go) by a program kept out of the repository: for each
 * (layout, value) it printed this row from time.Parse(layout, value) and
 * t.UnixMilli(), or the error, in a comment. It was run with TZ=UTC: Go
 * looks a zone name up in the local zone, and takes any other name as UTC
 * (a fixed zone with offset 0 and that name), as the loader does for every
 * name. Rows are pasted unchanged; where the loader deliberately answers
 * otherwise, go_differs below says so and why. */
static const date_case_t go_cases[] = {
    {"2006-01-02", "2024-02-29", true, 1709164800000LL},
    {"2006-01-02", "2023-02-29", false,
     0}, /* parsing time "2023-02-29": day out of range */
    {"2006-01-02", "2000-02-29", true, 951782400000LL},
    {"2006-01-02", "1900-02-29", false,
     0}, /* parsing time "1900-02-29": day out of range */
    {"2006-01-02", "0001-01-01", true, -62135596800000LL},
    {"2006-01-02", "0000-01-01", true, -62167219200000LL},
    {"2006-01-02", "9999-12-31", true, 253402214400000LL},
    {"2006-01-02", "1969-12-31", true, -86400000LL},
    {"2006-01-02", "24-01-02", false,
     0}, /* parsing time "24-01-02" as "2006-01-02": cannot parse "1-02" as
            "2006" */
    {"2006-01-02", "20240-01-02", false,
     0}, /* parsing time "20240-01-02" as "2006-01-02": cannot parse "0-01-02"
            as "-" */
    {"2006", "2024", true, 1704067200000LL},
    {"06-01-02", "69-07-20", true, -14256000000LL},
    {"06-01-02", "68-07-20", true, 3109968000000LL},
    {"06-01-02", "00-01-01", true, 946684800000LL},
    {"06-01-02", "2024-01-01", false,
     0}, /* parsing time "2024-01-01" as "06-01-02": cannot parse "24-01-01" as
            "-" */
    {"06-01-02", "7-01-01", false, 0}, /* parsing time "7-01-01" as "06-01-02":
                                          cannot parse "7-01-01" as "06" */
    {"2006-1-2", "2024-3-7", true, 1709769600000LL},
    {"2006-1-2", "2024-03-07", true, 1709769600000LL},
    {"2006-1-2", "2024-12-31", true, 1735603200000LL},
    {"2006-01-02", "2024-3-07", false,
     0}, /* parsing time "2024-3-07" as "2006-01-02": cannot parse "3-07" as
            "01" */
    {"2006-01-02", "2024-13-07", false,
     0}, /* parsing time "2024-13-07": month out of range */
    {"2006-01-02", "2024-00-07", false,
     0}, /* parsing time "2024-00-07": month out of range */
    {"2006-1-02", "2024-003-07", false,
     0}, /* parsing time "2024-003-07": month out of range */
    {"Jan 2 2006", "Feb 29 2024", true, 1709164800000LL},
    {"Jan 2 2006", "feb 29 2024", true, 1709164800000LL},
    {"Jan 2 2006", "DEC 31 1999", true, 946598400000LL},
    {"Jan 2 2006", "Fev 29 2024", false,
     0}, /* parsing time "Fev 29 2024" as "Jan 2 2006": cannot parse "Fev 29
            2024" as "Jan" */
    {"January 2, 2006", "September 30, 2023", true, 1696032000000LL},
    {"January 2, 2006", "september 30, 2023", true, 1696032000000LL},
    {"January 2, 2006", "Sept 30, 2023", false,
     0}, /* parsing time "Sept 30, 2023" as "January 2, 2006": cannot parse
            "Sept 30, 2023" as "January" */
    {"January 2, 2006", "Sep 30, 2023", false,
     0}, /* parsing time "Sep 30, 2023" as "January 2, 2006": cannot parse "Sep
            30, 2023" as "January" */
    {"Mon Jan 2 2006", "Thu Mar 7 2024", true, 1709769600000LL},
    {"Mon Jan 2 2006", "Sat Mar 7 2024", true, 1709769600000LL},
    {"Mon Jan 2 2006", "Xyz Mar 7 2024", false,
     0}, /* parsing time "Xyz Mar 7 2024" as "Mon Jan 2 2006": cannot parse "Xyz
            Mar 7 2024" as "Mon" */
    {"Monday, 02-Jan-06", "Thursday, 07-Mar-24", true, 1709769600000LL},
    {"Monday, 02-Jan-06", "thursday, 07-Mar-24", true, 1709769600000LL},
    {"Monday, 02-Jan-06", "Thu, 07-Mar-24", false,
     0}, /* parsing time "Thu, 07-Mar-24" as "Monday, 02-Jan-06": cannot parse
            "Thu, 07-Mar-24" as "Monday" */
    {"Jan _2 2006", "Mar  7 2024", true, 1709769600000LL},
    {"Jan _2 2006", "Mar 17 2024", true, 1710633600000LL},
    {"Jan _2 2006", "Mar 7 2024", true, 1709769600000LL},
    {"Jan 02 2006", "Mar 7 2024", false,
     0}, /* parsing time "Mar 7 2024" as "Jan 02 2006": cannot parse "7 2024" as
            "02" */
    {"Jan 02 2006", "Mar 07 2024", true, 1709769600000LL},
    {"2006-01-2", "2024-01-9", true, 1704758400000LL},
    {"2006-01-2", "2024-01-123", false,
     0}, /* parsing time "2024-01-123": extra text: "3" */
    {"2006-01-02", "2024-04-31", false,
     0}, /* parsing time "2024-04-31": day out of range */
    {"2006-01-02", "2024-04-00", false,
     0}, /* parsing time "2024-04-00": day out of range */
    {"2006-01-02 15:04", "2024-03-07 23:59", true, 1709855940000LL},
    {"2006-01-02 15:04", "2024-03-07 9:05", true, 1709802300000LL},
    {"2006-01-02 15:04", "2024-03-07 24:00", false,
     0}, /* parsing time "2024-03-07 24:00": hour out of range */
    {"2006-01-02 15:04", "2024-03-07 10:5", false,
     0}, /* parsing time "2024-03-07 10:5" as "2006-01-02 15:04": cannot parse
            "5" as "04" */
    {"2006-01-02 15:4:5", "2024-03-07 7:8:9", true, 1709795289000LL},
    {"2006-01-02 15:4:5", "2024-03-07 07:08:09", true, 1709795289000LL},
    {"2006-01-02 15:04:05", "2024-03-07 23:59:59", true, 1709855999000LL},
    {"2006-01-02 15:04:05", "2024-03-07 23:59:60", false,
     0}, /* parsing time "2024-03-07 23:59:60": second out of range */
    {"2006-01-02 15:04:05", "2024-03-07 23:60:00", false,
     0}, /* parsing time "2024-03-07 23:60:00": minute out of range */
    {"2006-01-02 3:04PM", "2024-03-07 3:04PM", true, 1709823840000LL},
    {"2006-01-02 3:04PM", "2024-03-07 12:00AM", true, 1709769600000LL},
    {"2006-01-02 3:04PM", "2024-03-07 12:00PM", true, 1709812800000LL},
    {"2006-01-02 3:04PM", "2024-03-07 0:30PM", true, 1709814600000LL},
    {"2006-01-02 3:04PM", "2024-03-07 0:30AM", true, 1709771400000LL},
    {"2006-01-02 3:04PM", "2024-03-07 13:00PM", false,
     0}, /* parsing time "2024-03-07 13:00PM": hour out of range */
    {"2006-01-02 3:04PM", "2024-03-07 3:04pm", false,
     0}, /* parsing time "2024-03-07 3:04pm" as "2006-01-02 3:04PM": cannot
            parse "" as "PM" */
    {"2006-01-02 3:04PM", "2024-03-07 3:04XM", false,
     0}, /* parsing time "2024-03-07 3:04XM" as "2006-01-02 3:04PM": cannot
            parse "" as "PM" */
    {"2006-01-02 3:04pm", "2024-03-07 3:04pm", true, 1709823840000LL},
    {"2006-01-02 3:04pm", "2024-03-07 11:59am", true, 1709812740000LL},
    {"2006-01-02 3:04pm", "2024-03-07 3:04PM", false,
     0}, /* parsing time "2024-03-07 3:04PM" as "2006-01-02 3:04pm": cannot
            parse "" as "pm" */
    {"2006-01-02 03:04 PM", "2024-03-07 09:30 AM", true, 1709803800000LL},
    {"2006-01-02 03:04 PM", "2024-03-07 9:30 AM", false,
     0}, /* parsing time "2024-03-07 9:30 AM" as "2006-01-02 03:04 PM": cannot
            parse "9:30 AM" as "03" */
    {"2006-01-02 3:04", "2024-03-07 3:04", true, 1709780640000LL},
    {"2006-01-02 3:04", "2024-03-07 12:00", true, 1709812800000LL},
    {"2006-01-02 3:04", "2024-03-07 0:00", true, 1709769600000LL},
    {"2006-01-02 03:04", "2024-03-07 00:00", true, 1709769600000LL},
    {"2006-01-02 15:04:05.000", "2024-03-07 10:00:00.123", true,
     1709805600123LL},
    {"2006-01-02 15:04:05.000", "2024-03-07 10:00:00,123", true,
     1709805600123LL},
    {"2006-01-02 15:04:05.000", "2024-03-07 10:00:00.12", false,
     0}, /* parsing time "2024-03-07 10:00:00.12" as "2006-01-02 15:04:05.000":
            cannot parse ".12" as ".000" */
    {"2006-01-02 15:04:05.000", "2024-03-07 10:00:00.1234", false,
     0}, /* parsing time "2024-03-07 10:00:00.1234": extra text: "4" */
    {"2006-01-02 15:04:05.000", "2024-03-07 10:00:00", false,
     0}, /* parsing time "2024-03-07 10:00:00" as "2006-01-02 15:04:05.000":
            cannot parse "" as ".000" */
    {"2006-01-02 15:04:05,000", "2024-03-07 10:00:00,250", true,
     1709805600250LL},
    {"2006-01-02 15:04:05,000", "2024-03-07 10:00:00.250", true,
     1709805600250LL},
    {"2006-01-02 15:04:05.000000", "2024-03-07 10:00:00.123456", true,
     1709805600123LL},
    {"2006-01-02 15:04:05.000000000", "2024-03-07 10:00:00.999999999", true,
     1709805600999LL},
    {"2006-01-02 15:04:05.999", "2024-03-07 10:00:00", true, 1709805600000LL},
    {"2006-01-02 15:04:05.999", "2024-03-07 10:00:00.5", true, 1709805600500LL},
    {"2006-01-02 15:04:05.999", "2024-03-07 10:00:00,5", true, 1709805600500LL},
    {"2006-01-02 15:04:05.999", "2024-03-07 10:00:00.123456789", true,
     1709805600123LL},
    {"2006-01-02 15:04:05.999", "2024-03-07 10:00:00.1234567891", false,
     0}, /* parsing time "2024-03-07 10:00:00.1234567891": extra text: "1" */
    {"2006-01-02 15:04:05.999", "2024-03-07 10:00:00.", false,
     0}, /* parsing time "2024-03-07 10:00:00.": extra text: "." */
    {"2006-01-02 15:04:05.999999999", "1969-12-31 23:59:59.5", true, -500LL},
    {"2006-01-02 15:04:05", "2024-03-07 10:00:00.5", true, 1709805600500LL},
    {"2006-01-02 15:04:05", "2024-03-07 10:00:00,5", true, 1709805600500LL},
    {"2006-01-02 15:04:05", "2024-03-07 10:00:00.123456789123", true,
     1709805600123LL},
    {"2006-01-02 15:04:05", "2024-03-07 10:00:00.", false,
     0}, /* parsing time "2024-03-07 10:00:00.": extra text: "." */
    {"2006-01-02 15:04:05Z07:00", "2024-03-07 10:00:00.25+01:00", true,
     1709802000250LL},
    {"2006-01-02T15:04:05Z07:00", "2024-03-07T10:00:00Z", true,
     1709805600000LL},
    {"2006-01-02T15:04:05Z07:00", "2024-03-07T10:00:00+05:30", true,
     1709785800000LL},
    {"2006-01-02T15:04:05Z07:00", "2024-03-07T10:00:00-08:00", true,
     1709834400000LL},
    {"2006-01-02T15:04:05Z07:00", "2024-03-07T10:00:00+0530", false,
     0}, /* parsing time "2024-03-07T10:00:00+0530" as
            "2006-01-02T15:04:05Z07:00": cannot parse "+0530" as "Z07:00" */
    {"2006-01-02T15:04:05Z07:00", "2024-03-07T10:00:00z", false,
     0}, /* parsing time "2024-03-07T10:00:00z" as "2006-01-02T15:04:05Z07:00":
            cannot parse "z" as "Z07:00" */
    {"2006-01-02T15:04:05Z07:00", "2024-03-07T10:00:00", false,
     0}, /* parsing time "2024-03-07T10:00:00" as "2006-01-02T15:04:05Z07:00":
            cannot parse "" as "Z07:00" */
    {"2006-01-02T15:04:05.000Z07:00", "2024-03-07T10:00:00.500-00:30", true,
     1709807400500LL},
    {"2006-01-02T15:04:05Z0700", "2024-03-07T10:00:00Z", true, 1709805600000LL},
    {"2006-01-02T15:04:05Z0700", "2024-03-07T10:00:00+0530", true,
     1709785800000LL},
    {"2006-01-02T15:04:05Z0700", "2024-03-07T10:00:00+05:30", false,
     0}, /* parsing time "2024-03-07T10:00:00+05:30" as
            "2006-01-02T15:04:05Z0700": cannot parse "0" as "Z0700" */
    {"2006-01-02T15:04:05Z07", "2024-03-07T10:00:00Z", true, 1709805600000LL},
    {"2006-01-02T15:04:05Z07", "2024-03-07T10:00:00-03", true, 1709816400000LL},
    {"2006-01-02T15:04:05Z07", "2024-03-07T10:00:00+0530", false,
     0}, /* parsing time "2024-03-07T10:00:00+0530": extra text: "30" */
    {"2006-01-02 15:04 -0700", "2024-03-07 10:00 +0100", true, 1709802000000LL},
    {"2006-01-02 15:04 -0700", "2024-03-07 10:00 -0000", true, 1709805600000LL},
    {"2006-01-02 15:04 -0700", "2024-03-07 10:00 Z", false,
     0}, /* parsing time "2024-03-07 10:00 Z" as "2006-01-02 15:04 -0700":
            cannot parse "Z" as "-0700" */
    {"2006-01-02 15:04 -0700", "2024-03-07 10:00 +01", false,
     0}, /* parsing time "2024-03-07 10:00 +01" as "2006-01-02 15:04 -0700":
            cannot parse "+01" as "-0700" */
    {"2006-01-02 15:04 -0700", "2024-03-07 10:00 0100", false,
     0}, /* parsing time "2024-03-07 10:00 0100" as "2006-01-02 15:04 -0700":
            cannot parse "0100" as "-0700" */
    {"2006-01-02 15:04 -0700", "2024-03-07 10:00 +2359", true, 1709719260000LL},
    {"2006-01-02 15:04 -0700", "2024-03-07 10:00 +2400", true, 1709719200000LL},
    {"2006-01-02 15:04 -0700", "2024-03-07 10:00 +0160", true, 1709798400000LL},
    {"2006-01-02 15:04 -07:00", "2024-03-07 10:00 -08:00", true,
     1709834400000LL},
    {"2006-01-02 15:04 -07:00", "2024-03-07 10:00 -0800", false,
     0}, /* parsing time "2024-03-07 10:00 -0800" as "2006-01-02 15:04 -07:00":
            cannot parse "-0800" as "-07:00" */
    {"2006-01-02 15:04 -07", "2024-03-07 10:00 -08", true, 1709834400000LL},
    {"2006-01-02 15:04 -07", "2024-03-07 10:00 -8", false,
     0}, /* parsing time "2024-03-07 10:00 -8" as "2006-01-02 15:04 -07": cannot
            parse "-8" as "-07" */
    {"2006-01-02 15:04 -070000", "2024-03-07 10:00 +013045", true,
     1709800155000LL},
    {"2006-01-02 15:04 -07:00:00", "2024-03-07 10:00 -01:30:45", true,
     1709811045000LL},
    {"2006-01-02 15:04 Z070000", "2024-03-07 10:00 Z", false,
     0}, /* parsing time "2024-03-07 10:00 Z" as "2006-01-02 15:04 Z070000":
            cannot parse "Z" as "Z070000" */
    {"2006-01-02 15:04 Z07:00:00", "2024-03-07 10:00 +01:00:01", true,
     1709801999000LL},
    {"2006-01-02 15:04 MST", "2024-03-07 10:00 PST", true, 1709805600000LL},
    {"2006-01-02 15:04 MST", "2024-03-07 10:00 UTC", true, 1709805600000LL},
    {"2006-01-02 15:04 MST", "2024-03-07 10:00 GMT", true, 1709805600000LL},
    {"2006-01-02 15:04 MST", "2024-03-07 10:00 GMT+3", true, 1709805600000LL},
    {"2006-01-02 15:04 MST", "2024-03-07 10:00 GMT-11", true, 1709805600000LL},
    {"2006-01-02 15:04 MST", "2024-03-07 10:00 GMT+24", false,
     0}, /* parsing time "2024-03-07 10:00 GMT+24": extra text: "+24" */
    {"2006-01-02 15:04 MST", "2024-03-07 10:00 CEST", true, 1709805600000LL},
    {"2006-01-02 15:04 MST", "2024-03-07 10:00 AEDT", true, 1709805600000LL},
    {"2006-01-02 15:04 MST", "2024-03-07 10:00 WITA", true, 1709805600000LL},
    {"2006-01-02 15:04 MST", "2024-03-07 10:00 ChST", true, 1709805600000LL},
    {"2006-01-02 15:04 MST", "2024-03-07 10:00 +03", true, 1709805600000LL},
    {"2006-01-02 15:04 MST", "2024-03-07 10:00 -11", true, 1709805600000LL},
    {"2006-01-02 15:04 MST", "2024-03-07 10:00 ABCD", false,
     0}, /* parsing time "2024-03-07 10:00 ABCD" as "2006-01-02 15:04 MST":
            cannot parse "ABCD" as "MST" */
    {"2006-01-02 15:04 MST", "2024-03-07 10:00 ABCDEF", false,
     0}, /* parsing time "2024-03-07 10:00 ABCDEF" as "2006-01-02 15:04 MST":
            cannot parse "ABCDEF" as "MST" */
    {"2006-01-02 15:04 MST", "2024-03-07 10:00 AB", false,
     0}, /* parsing time "2024-03-07 10:00 AB" as "2006-01-02 15:04 MST": cannot
            parse "AB" as "MST" */
    {"2006-01-02 15:04 MST", "2024-03-07 10:00 pst", false,
     0}, /* parsing time "2024-03-07 10:00 pst" as "2006-01-02 15:04 MST":
            cannot parse "pst" as "MST" */
    {"2006-01-02 15:04 MST", "2024-03-07 10:00 ", false,
     0}, /* parsing time "2024-03-07 10:00 " as "2006-01-02 15:04 MST": cannot
            parse "" as "MST" */
    {"2006-01-02 15:04 MST", "2024-03-07 10:00 MSTX", false,
     0}, /* parsing time "2024-03-07 10:00 MSTX" as "2006-01-02 15:04 MST":
            cannot parse "MSTX" as "MST" */
    {"2006-01-02", "2024/01/02", false,
     0}, /* parsing time "2024/01/02" as "2006-01-02": cannot parse "/01/02" as
            "-" */
    {"2006-01-02", "2024-01-02x", false,
     0}, /* parsing time "2024-01-02x": extra text: "x" */
    {"2006-01-02", " 2024-01-02", false,
     0}, /* parsing time " 2024-01-02" as "2006-01-02": cannot parse "
            2024-01-02" as "2006" */
    {"2006-01-02", "", false,
     0}, /* parsing time "" as "2006-01-02": cannot parse "" as "2006" */
    {"2006-01-02T15:04:05", "2024-03-07T10:00:00", true, 1709805600000LL},
    {"02/01/2006 15h04", "07/03/2024 10h30", true, 1709807400000LL},
    {"15:04", "10:30", true, -62167181400000LL},
    {"Jan 2", "Mar 7", true, -62161516800000LL},
    {"2006-01", "2024-03", true, 1709251200000LL},
    {"Jan 2006", "Feb 2024", true, 1706745600000LL},
    {"Mon Jan _2 15:04:05 MST 2006", "Thu Mar  7 10:00:00 UTC 2024", true,
     1709805600000LL},
    {"02 Jan 06 15:04 -0700", "07 Mar 24 10:00 +0100", true, 1709802000000LL},
    {"Monday, 02-Jan-06 15:04:05 MST", "Thursday, 07-Mar-24 10:00:00 UTC", true,
     1709805600000LL},
    {"Mon, 02 Jan 2006 15:04:05 -0700", "Thu, 07 Mar 2024 10:00:00 -0500", true,
     1709823600000LL},
    {"Jan _2 15:04:05.000", "Mar  7 10:00:00.250", true, -62161480799750LL},
    {"2006-01-02T15:04:05.999999999Z07:00",
     "2024-03-07T10:00:00.123456789+09:00", true, 1709773200123LL},
};

/* Where the loader deliberately differs from go1.19.8: its answer, and why. */
static const date_case_t go_differs[] = {
    /* An offset beyond 23:59 is refused (go1.19 reads any two digits; later
     * Go versions check the range too, and Java refuses these). */
    {"2006-01-02 15:04 -0700", "2024-03-07 10:00 +2400", false, 0},
    {"2006-01-02 15:04 -0700", "2024-03-07 10:00 +0160", false, 0},
    /* Every Z layout takes "Z" for UTC; go1.19 takes it for Z07, Z0700 and
     * Z07:00 but not for Z070000 and Z07:00:00. */
    {"2006-01-02 15:04 Z070000", "2024-03-07 10:00 Z", true, 1709805600000LL},
};

/* What java.text.SimpleDateFormat gives for date_ms() patterns. Made with
 * OpenJDK 17.0.15 (Debian) by a program kept out of the repository: for each
 * (pattern, value), new SimpleDateFormat(pattern, Locale.US) with
 * setLenient(false) and the zone UTC, parse(value, new ParsePosition(0));
 * a row is ok when a Date came back and the whole value was read (a loader
 * value is a whole field), and then holds Date.getTime(). Rows are pasted
 * unchanged; java_differs below lists where the loader differs and why. */
static const date_case_t java_cases[] = {
    {"yyyy-MM-dd", "2024-02-29", true, 1709164800000LL},
    {"yyyy-MM-dd", "2023-02-29", false, 0}, /* error at 10 */
    {"yyyy-MM-dd", "2024-13-01", false, 0}, /* error at 10 */
    {"yyyy-MM-dd", "2024-3-7", true, 1709769600000LL},
    {"yyyy-MM-dd", "2024-03-07x", false, 0}, /* text left at 10 */
    {"yyyyMMdd", "20240307", true, 1709769600000LL},
    {"yyyyMMddHHmmss", "20240307100000", true, 1709805600000LL},
    {"yyyy-MM-dd'T'HH:mm:ss", "2024-03-07T10:00:00", true, 1709805600000LL},
    {"yyyy-MM-dd'T'HH:mm:ss.SSS", "2024-03-07T10:00:00.123", true,
     1709805600123LL},
    {"yyyy-MM-dd'T'HH:mm:ss.SSS", "2024-03-07T10:00:00.050", true,
     1709805600050LL},
    {"yyyy-MM-dd'T'HH:mm:ss.SSSXXX", "2024-03-07T10:00:00.123+05:30", true,
     1709785800123LL},
    {"yyyy-MM-dd'T'HH:mm:ss.SSSXXX", "2024-03-07T10:00:00.123Z", true,
     1709805600123LL},
    {"yyyy-MM-dd'T'HH:mm:ss.SSSXXX", "2024-03-07T10:00:00.123+0530", false,
     0}, /* error at 26 */
    {"yyyy-MM-dd'T'HH:mm:ssXX", "2024-03-07T10:00:00-0800", true,
     1709834400000LL},
    {"yyyy-MM-dd'T'HH:mm:ssX", "2024-03-07T10:00:00-08", true, 1709834400000LL},
    {"yyyy-MM-dd'T'HH:mm:ssX", "2024-03-07T10:00:00Z", true, 1709805600000LL},
    {"yyyy-MM-dd HH:mm:ss Z", "2024-03-07 10:00:00 +0100", true,
     1709802000000LL},
    {"yyyy-MM-dd HH:mm:ss Z", "2024-03-07 10:00:00 -2400", false,
     0}, /* error at 22 */
    {"yyyy-MM-dd HH:mm z", "2024-03-07 10:00 UTC", true, 1709805600000LL},
    {"yyyy-MM-dd HH:mm z", "2024-03-07 10:00 GMT", true, 1709805600000LL},
    {"yyyy-MM-dd HH:mm z", "2024-03-07 10:00 PST", true, 1709834400000LL},
    {"dd/MM/yy", "07/03/24", true, 1709769600000LL},
    {"dd/MM/yy", "07/03/69", true, -25920000000LL},
    {"dd/MM/yy", "07/03/99", true, 920764800000LL},
    {"dd/MM/yy", "07/03/00", true, 952387200000LL},
    {"MMM d, yyyy", "Mar 7, 2024", true, 1709769600000LL},
    {"MMM d, yyyy", "mar 7, 2024", true, 1709769600000LL},
    {"MMMM d, yyyy", "March 7, 2024", true, 1709769600000LL},
    {"MMMM d, yyyy", "Mar 7, 2024", true, 1709769600000LL},
    {"EEE, d MMM yyyy HH:mm:ss Z", "Thu, 7 Mar 2024 10:00:00 +0000", true,
     1709805600000LL},
    {"EEE, dd MMM yyyy HH:mm:ss Z", "Thu, 07 Mar 2024 10:00:00 -0500", true,
     1709823600000LL},
    {"EEEE, MMMM d, yyyy", "Thursday, March 7, 2024", true, 1709769600000LL},
    {"yyyy-MM-dd h:mm a", "2024-03-07 3:04 PM", true, 1709823840000LL},
    {"yyyy-MM-dd h:mm a", "2024-03-07 3:04 pm", true, 1709823840000LL},
    {"yyyy-MM-dd h:mm a", "2024-03-07 12:00 AM", true, 1709769600000LL},
    {"yyyy-MM-dd h:mm a", "2024-03-07 12:00 PM", true, 1709812800000LL},
    {"yyyy-MM-dd hh:mm a", "2024-03-07 09:30 AM", true, 1709803800000LL},
    {"yyyy-MM-dd H:mm", "2024-03-07 9:05", true, 1709802300000LL},
    {"yyyy-MM-dd HH:mm", "2024-03-07 23:59", true, 1709855940000LL},
    {"yyyy-MM-dd HH:mm", "2024-03-07 24:00", false, 0},       /* error at 16 */
    {"yyyy-MM-dd HH:mm:ss", "2024-03-07 23:59:60", false, 0}, /* error at 19 */
    {"yyyy-MM-dd'T'HH:mm:ss", "2024-03-07 10:00:00", false,
     0}, /* error at 10 */
    {"''yyyy''", "'2024'", true, 1704067200000LL},
    {"yyyy 'at' HH", "2024 at 10", true, 1704103200000LL},
    {"HH:mm", "10:30", true, 37800000LL},
    {"yyyy-MM-dd hh:mm", "2024-03-07 12:00", true, 1709769600000LL},
    {"yyyy-MM-dd hh:mm", "2024-03-07 03:04", true, 1709780640000LL},
    {"dd/MM/yy", "07/03/50", true, -625536000000LL},
    {"dd/MM/yy", "07/03/2024", true, 1709769600000LL},
    {"yyyy-MM-dd", "24-03-07", true, -61404307200000LL},
    {"yyyy-M-d", "2024-3-7", true, 1709769600000LL},
    {"yyyy-MM-dd'T'HH:mm:ss.S", "2024-03-07T10:00:00.5", true, 1709805600005LL},
    {"yyyy-MM-dd'T'HH:mm:ss.SSSSSS", "2024-03-07T10:00:00.123456", false,
     0}, /* error at 26 */
    {"yyyy-MM-dd'T'HH:mm:ss.SSS", "2024-03-07T10:00:00.5", true,
     1709805600005LL},
    {"yyyy-MM-dd'T'HH:mm:ss.SSS", "2024-03-07T10:00:00.1234", false,
     0}, /* error at 24 */
    {"yyyy-MM-dd HH:mm:ss Z", "2024-03-07 10:00:00 +01:00", false,
     0}, /* error at 23 */
    {"yyyy-MM-dd HH:mm:ssXXX", "2024-03-07 10:00:00+24:00", false,
     0}, /* error at 21 */
    {"yyyy-MM-dd HH:mm:ssXXX", "2024-03-07 10:00:00+05:60", false,
     0}, /* error at 24 */
    {"dd MMM yyyy", "07 MAR 2024", true, 1709769600000LL},
    {"yyyy-MM-dd", "2024-02-30", false, 0}, /* error at 10 */
    {"yyyy-MM-dd", "0001-01-01", true, -62135769600000LL},
    {"yyyy-MM-dd HH:mm:ss.SSS", "1969-12-31 23:59:59.500", true, -500LL},
    {"EEEE, d MMM yyyy", "Thu, 7 Mar 2024", true, 1709769600000LL},
    {"yyyy-MM-dd HH:mm:ss", "2024-03-07 10:00:00.5", false,
     0}, /* text left at 19 */
};

/* Where the loader deliberately differs from Java 17: its answer, and why. */
static const date_case_t java_differs[] = {
    /* Pattern letters count: MM, dd, HH, mm, ss are two digits, yyyy four,
     * yy two (Java reads any number of digits unless fields abut). */
    {"yyyy-MM-dd", "2024-3-7", false, 0},
    {"yyyy-MM-dd", "24-03-07", false, 0},
    {"dd/MM/yy", "07/03/2024", false, 0},
    /* yy is Go's fixed window, 69-99 -> 19xx and 00-68 -> 20xx, so a load
     * gives the same dates every year; Java's window moves with the clock
     * (80 years back, 20 ahead). */
    {"dd/MM/yy", "07/03/50", true, 2530224000000LL},
    /* S is a fraction of a second with exactly that many digits (SSS: the
     * milliseconds, as in every date written with them); Java reads S as a
     * count of milliseconds (".5" is 5 ms, six S digits are out of range). */
    {"yyyy-MM-dd'T'HH:mm:ss.S", "2024-03-07T10:00:00.5", true, 1709805600500LL},
    {"yyyy-MM-dd'T'HH:mm:ss.SSSSSS", "2024-03-07T10:00:00.123456", true,
     1709805600123LL},
    {"yyyy-MM-dd'T'HH:mm:ss.SSS", "2024-03-07T10:00:00.5", false, 0},
    /* z: a zone name is read as Go reads MST and the time taken as UTC;
     * Java applies the named zone's offset (PST: -08:00). */
    {"yyyy-MM-dd HH:mm z", "2024-03-07 10:00 PST", true, 1709805600000LL},
    /* Dates before 1582-10-15 are proleptic Gregorian, as Go, BSON and ISO
     * 8601 count them; Java's calendar is Julian there. */
    {"yyyy-MM-dd", "0001-01-01", true, -62135596800000LL},
};

/* The loader's answer for layout and value: ok and *ms. Fails the test when
 * fn(layout) is not a valid type. */
static bool loader_date(const char *fn, const char *layout, const char *value,
                        int64_t *ms)
{
  char spec[256];
  snprintf(spec, sizeof spec, "%s(%s)", fn, layout);
  types_type_t t;
  bson_error_t error;
  if (!types_parse(spec, strlen(spec), &t, &error))
    fail_msg("%s: %s", spec, error.message);
  *ms = 0;
  return types_parse_date(&t, value, strlen(value), ms);
}

/* Looks (layout, value) up in rows; returns the row or NULL. */
static const date_case_t *find_case(const date_case_t *rows, size_t n,
                                    const char *layout, const char *value)
{
  for (size_t k = 0; k < n; k++)
    if (rows[k].layout && strcmp(rows[k].layout, layout) == 0 &&
        strcmp(rows[k].value, value) == 0)
      return &rows[k];
  return NULL;
}

/* Checks every row of cases against the loader's answer (the row of differs
 * for the same layout and value, when there is one), prints each
 * disagreement and fails when there was any. */
static void check_dates(const char *fn, const date_case_t *cases, size_t n,
                        const date_case_t *differs, size_t n_differs)
{
  int bad = 0;
  for (size_t k = 0; k < n; k++) {
    const date_case_t *want = &cases[k];
    const date_case_t *d =
        find_case(differs, n_differs, want->layout, want->value);
    if (d)
      want = d;
    int64_t ms;
    bool ok = loader_date(fn, want->layout, want->value, &ms);
    if (ok != want->ok || (ok && ms != want->ms)) {
      print_error("%s(%s) \"%s\": loader %s %lld, want %s %lld%s\n", fn,
                  want->layout, want->value, ok ? "ok" : "error", (long long)ms,
                  want->ok ? "ok" : "error", (long long)want->ms,
                  d ? " (a documented difference)" : "");
      bad++;
    }
  }
  /* Every difference names a row of the table. */
  for (size_t k = 0; k < n_differs; k++)
    if (differs[k].layout &&
        !find_case(cases, n, differs[k].layout, differs[k].value)) {
      print_error("difference %s \"%s\" is not in the table\n",
                  differs[k].layout, differs[k].value);
      bad++;
    }
  if (bad)
    fail_msg("%d of %zu %s() rows disagree", bad, n, fn);
}

static void test_dates_go(void **state)
{
  (void)state;
  check_dates("date", go_cases, sizeof go_cases / sizeof go_cases[0],
              go_differs, sizeof go_differs / sizeof go_differs[0]);
  /* date_go() is the same parser. */
  check_dates("date_go", go_cases, sizeof go_cases / sizeof go_cases[0],
              go_differs, sizeof go_differs / sizeof go_differs[0]);
}

static void test_dates_java(void **state)
{
  (void)state;
  check_dates("date_ms", java_cases, sizeof java_cases / sizeof java_cases[0],
              java_differs, sizeof java_differs / sizeof java_differs[0]);
}

/* Layouts the loader refuses, with the message's key words. */
static void test_date_layout_errors(void **state)
{
  (void)state;
  static const struct {
    const char *spec; /* the type */
    const char *says; /* in the error */
  } rows[] = {
      {"date()", "needs a layout"},
      {"date_ms()", "needs a layout"},
      {"date_ms(yyyy-MM-dd'T)", "unterminated quote"},
      {"date_ms(yyyy G)", "unsupported pattern letter 'G'"},
      {"date_ms(QQ)", "unsupported pattern letter 'Q'"},
      /* 49 tokens: one more than TYPES_MAX_TOKENS */
      {"date(0000000000000000000000000000000000000000000000000)", "too long"},
      {"date_ms(y-y-y-y-y-y-y-y-y-y-y-y-y-y-y-y-y-y-y-y-y-y-y-y-y)",
       "too long"},
  };
  for (size_t k = 0; k < sizeof rows / sizeof rows[0]; k++) {
    types_type_t t;
    bson_error_t error;
    if (types_parse(rows[k].spec, strlen(rows[k].spec), &t, &error))
      fail_msg("%s: accepted", rows[k].spec);
    if (!strstr(error.message, rows[k].says))
      fail_msg("%s: \"%s\" does not say \"%s\"", rows[k].spec, error.message,
               rows[k].says);
  }
  /* 48 tokens fit. */
  types_type_t t;
  bson_error_t error;
  const char *fits = "date(000000000000000000000000000000000000000000000000)";
  assert_true(types_parse(fits, strlen(fits), &t, &error));
  assert_int_equal(t.n_tokens, TYPES_MAX_TOKENS);
}

/* ---- inference ---------------------------------------------------------- */

typedef struct infer_case {
  const char *text;      /* the value */
  types_inferred_t kind; /* what it is inferred to be */
  int64_t i;             /* the integer or boolean, for those kinds */
  double d;              /* the double, for TYPES_INFERRED_DOUBLE */
} infer_case_t;

/* Checks fn (named name) against every row: the kind, and the number. */
static void check_infer(const char *name,
                        types_inferred_t (*fn)(const char *, size_t, int64_t *,
                                               double *),
                        const infer_case_t *rows, size_t n)
{
  for (size_t k = 0; k < n; k++) {
    int64_t i = 0;
    double d = 0;
    const char *s = rows[k].text;
    types_inferred_t got = fn(s, strlen(s), &i, &d);
    if (got != rows[k].kind)
      fail_msg("%s(\"%s\") = %d, want %d", name, s, (int)got,
               (int)rows[k].kind);
    if ((got == TYPES_INFERRED_INT32 || got == TYPES_INFERRED_INT64 ||
         got == TYPES_INFERRED_BOOL) &&
        i != rows[k].i)
      fail_msg("%s(\"%s\") = %lld, want %lld", name, s, (long long)i,
               (long long)rows[k].i);
    if (got == TYPES_INFERRED_DOUBLE &&
        !(isnan(rows[k].d) ? isnan(d) : d == rows[k].d))
      fail_msg("%s(\"%s\") = %.17g, want %.17g", name, s, d, rows[k].d);
  }
}

static void test_infer(void **state)
{
  (void)state;
  static const infer_case_t rows[] = {
      /* canonical integers, int32 then int64 */
      {"0", TYPES_INFERRED_INT32, 0, 0},
      {"7", TYPES_INFERRED_INT32, 7, 0},
      {"-1", TYPES_INFERRED_INT32, -1, 0},
      {"2147483647", TYPES_INFERRED_INT32, INT32_MAX, 0},
      {"-2147483648", TYPES_INFERRED_INT32, INT32_MIN, 0},
      {"2147483648", TYPES_INFERRED_INT64, 2147483648LL, 0},
      {"-2147483649", TYPES_INFERRED_INT64, -2147483649LL, 0},
      {"123456789012345678", TYPES_INFERRED_INT64, 123456789012345678LL, 0},
      {"-999999999999999999", TYPES_INFERRED_INT64, -999999999999999999LL, 0},
      {"1234567890123456789", TYPES_INFERRED_INT64, 1234567890123456789LL, 0},
      {"9223372036854775807", TYPES_INFERRED_INT64, INT64_MAX, 0},
      {"-9223372036854775808", TYPES_INFERRED_INT64, INT64_MIN, 0},
      /* beyond int64: kept as text rather than rounded */
      {"9223372036854775808", TYPES_INFERRED_STRING, 0, 0},
      {"-9223372036854775809", TYPES_INFERRED_STRING, 0, 0},
      {"99999999999999999999", TYPES_INFERRED_STRING, 0, 0},
      {"123456789012345678901", TYPES_INFERRED_STRING, 0, 0},
      /* not canonical: would not survive a round trip */
      {"-0", TYPES_INFERRED_STRING, 0, 0},
      {"007", TYPES_INFERRED_STRING, 0, 0},
      {"00501", TYPES_INFERRED_STRING, 0, 0},
      {"+7", TYPES_INFERRED_STRING, 0, 0},
      {"+1-555-0134", TYPES_INFERRED_STRING, 0, 0},
      {"--1", TYPES_INFERRED_STRING, 0, 0},
      {"-", TYPES_INFERRED_STRING, 0, 0},
      {" 1", TYPES_INFERRED_STRING, 0, 0},
      {"1 ", TYPES_INFERRED_STRING, 0, 0},
      {"1,000", TYPES_INFERRED_STRING, 0, 0},
      {"0x10", TYPES_INFERRED_STRING, 0, 0},
      /* decimals and exponents */
      {"1.5", TYPES_INFERRED_DOUBLE, 0, 1.5},
      {"-0.25", TYPES_INFERRED_DOUBLE, 0, -0.25},
      {"0.1", TYPES_INFERRED_DOUBLE, 0, 0.1},
      {"0.0", TYPES_INFERRED_DOUBLE, 0, 0.0},
      {"1e3", TYPES_INFERRED_DOUBLE, 0, 1000.0},
      {"1E3", TYPES_INFERRED_DOUBLE, 0, 1000.0},
      {"1e+3", TYPES_INFERRED_DOUBLE, 0, 1000.0},
      {"1e-3", TYPES_INFERRED_DOUBLE, 0, 0.001},
      {"-1.5e10", TYPES_INFERRED_DOUBLE, 0, -1.5e10},
      {"0e0", TYPES_INFERRED_DOUBLE, 0, 0.0},
      {"123456789.123456789", TYPES_INFERRED_DOUBLE, 0, 123456789.123456789},
      {"3.141592653589793238", TYPES_INFERRED_DOUBLE, 0, 3.141592653589793},
      {"1e22", TYPES_INFERRED_DOUBLE, 0, 1e22},
      {"1e23", TYPES_INFERRED_DOUBLE, 0, 1e23},
      {"4.9e-324", TYPES_INFERRED_DOUBLE, 0, 4.9e-324},
      {"1.7976931348623157e308", TYPES_INFERRED_DOUBLE, 0,
       1.7976931348623157e308},
      /* a double that underflows is 0; one that overflows stays text */
      {"1e-999", TYPES_INFERRED_DOUBLE, 0, 0.0},
      {"1e999", TYPES_INFERRED_STRING, 0, 0},
      {"-1e999", TYPES_INFERRED_STRING, 0, 0},
      {"1.8e308", TYPES_INFERRED_STRING, 0, 0},
      /* not numbers */
      {".5", TYPES_INFERRED_STRING, 0, 0},
      {"5.", TYPES_INFERRED_STRING, 0, 0},
      {"01.5", TYPES_INFERRED_STRING, 0, 0},
      {"+1.5", TYPES_INFERRED_STRING, 0, 0},
      {"1e", TYPES_INFERRED_STRING, 0, 0},
      {"1e+", TYPES_INFERRED_STRING, 0, 0},
      {"1.2.3", TYPES_INFERRED_STRING, 0, 0},
      {"NaN", TYPES_INFERRED_STRING, 0, 0},
      {"inf", TYPES_INFERRED_STRING, 0, 0},
      {"Infinity", TYPES_INFERRED_STRING, 0, 0},
      /* booleans: exactly true and false */
      {"true", TYPES_INFERRED_BOOL, 1, 0},
      {"false", TYPES_INFERRED_BOOL, 0, 0},
      {"True", TYPES_INFERRED_STRING, 0, 0},
      {"FALSE", TYPES_INFERRED_STRING, 0, 0},
      {"t", TYPES_INFERRED_STRING, 0, 0},
      {"truer", TYPES_INFERRED_STRING, 0, 0},
      {"fals", TYPES_INFERRED_STRING, 0, 0},
      {"yes", TYPES_INFERRED_STRING, 0, 0},
  };
  check_infer("infer", types_infer, rows, sizeof rows / sizeof rows[0]);
}

/* "-0.0" is a double whose sign survives. */
static void test_infer_negative_zero(void **state)
{
  (void)state;
  int64_t i;
  double d = 1;
  assert_int_equal(types_infer("-0.0", 4, &i, &d), TYPES_INFERRED_DOUBLE);
  assert_true(d == 0.0 && signbit(d));
}

/* What types_infer() must say of s, by its documented rules, with libc's
 * strtoll()/strtod() doing the numbers: "true"/"false"; a canonical
 * integer -?(0|[1-9][0-9]*) other than "-0" within int64; a decimal
 * -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)? with a fraction or an
 * exponent that is finite; else text. */
static types_inferred_t infer_oracle(const char *s, size_t len, int64_t *i,
                                     double *d)
{
  if (len == 4 && memcmp(s, "true", 4) == 0)
    return *i = 1, TYPES_INFERRED_BOOL;
  if (len == 5 && memcmp(s, "false", 5) == 0)
    return *i = 0, TYPES_INFERRED_BOOL;
  size_t k = s[0] == '-', int_start = k;
  while (k < len && s[k] >= '0' && s[k] <= '9')
    k++;
  size_t int_digits = k - int_start;
  if (int_digits == 0 || (s[int_start] == '0' && int_digits > 1))
    return TYPES_INFERRED_STRING;
  char buf[64];
  if (len >= sizeof buf)
    return TYPES_INFERRED_STRING; /* the generator makes none this long */
  memcpy(buf, s, len);
  buf[len] = '\0';
  if (k == len) {
    if (len == 2 && s[0] == '-' && s[1] == '0')
      return TYPES_INFERRED_STRING;
    errno = 0;
    long long v = strtoll(buf, NULL, 10);
    if (errno != 0)
      return TYPES_INFERRED_STRING;
    *i = v;
    return v >= INT32_MIN && v <= INT32_MAX ? TYPES_INFERRED_INT32
                                            : TYPES_INFERRED_INT64;
  }
  if (s[k] == '.') {
    size_t f = ++k;
    while (k < len && s[k] >= '0' && s[k] <= '9')
      k++;
    if (k == f)
      return TYPES_INFERRED_STRING;
  }
  if (k < len && (s[k] == 'e' || s[k] == 'E')) {
    k++;
    if (k < len && (s[k] == '+' || s[k] == '-'))
      k++;
    size_t e = k;
    while (k < len && s[k] >= '0' && s[k] <= '9')
      k++;
    if (k == e)
      return TYPES_INFERRED_STRING;
  }
  if (k != len)
    return TYPES_INFERRED_STRING;
  *d = strtod(buf, NULL);
  return isfinite(*d) ? TYPES_INFERRED_DOUBLE : TYPES_INFERRED_STRING;
}

/* types_infer() against infer_oracle() over two million generated fields
 * made mostly of the bytes numbers and booleans are made of, so that every
 * path (the first-byte shortcut, the one-pass integer, strtoll() near the
 * int64 edge, the exact double fast path and strtod()) sees near misses;
 * and types_infer_is_text() against types_infer() for every first byte. */
static void test_infer_generated(void **state)
{
  (void)state;
  static const char alphabet[] = "0123456789000111999--..eE+truefalsTFx \xc3";
  uint64_t x = 0x9e3779b97f4a7c15ull;
  char s[40];
  for (int n = 0; n < 2000000; n++) {
    x ^= x << 13, x ^= x >> 7, x ^= x << 17;
    size_t len = 1 + (size_t)(x % 23);
    uint64_t r = x;
    for (size_t k = 0; k < len; k++) {
      x ^= x << 13, x ^= x >> 7, x ^= x << 17;
      /* Runs of digits are likelier than other bytes. */
      s[k] = (x >> 8) % 4 ? (char)('0' + (x >> 16) % 10)
                          : alphabet[(x >> 24) % (sizeof alphabet - 1)];
    }
    if (r % 7 == 0)
      s[0] = '-';
    if (r % 11 == 0)
      memcpy(s, r % 2 ? "true" : "false", len < 5 ? len : 5);
    s[len] = '\0'; /* fields are terminated: strtoll() and strtod() stop */
    int64_t i1 = 0, i2 = 0;
    double d1 = 0, d2 = 0;
    types_inferred_t got = types_infer(s, len, &i1, &d1);
    types_inferred_t want = infer_oracle(s, len, &i2, &d2);
    if (got != want || (got != TYPES_INFERRED_STRING &&
                        (i1 != i2 || memcmp(&d1, &d2, sizeof d1) != 0)))
      fail_msg("\"%.*s\": types_infer says %d (%lld, %.17g), the rules %d "
               "(%lld, %.17g)",
               (int)len, s, got, (long long)i1, d1, want, (long long)i2, d2);
  }
  for (int c = 0; c < 256; c++) {
    if (!types_infer_is_text((unsigned char)c))
      continue;
    static const char *const tails[] = {"",     "1",  "0",  "rue",
                                        "alse", ".5", "e5", "23456789"};
    for (size_t t = 0; t < sizeof tails / sizeof tails[0]; t++) {
      s[0] = (char)c;
      size_t len = 1 + strlen(tails[t]);
      memcpy(s + 1, tails[t], len - 1);
      int64_t i;
      double d;
      if (types_infer(s, len, &i, &d) != TYPES_INFERRED_STRING)
        fail_msg("byte %d taken for text, but \"%.*s\" is not", c, (int)len, s);
    }
  }
}

/* ---- declared types ------------------------------------------------------ */

/* Appends text as spec under "v" into *doc (initialised here; the caller
 * destroys it); returns whether the text fitted, with the reason in why. */
static bool append_as(const char *spec, const char *text, bson_t *doc,
                      char *why, size_t cap)
{
  types_type_t t;
  bson_error_t error;
  if (!types_parse(spec, strlen(spec), &t, &error))
    fail_msg("%s: %s", spec, error.message);
  types_scratch_t sc = {NULL, 0};
  bool too_large = false;
  bson_init(doc);
  why[0] = '\0';
  bool ok = types_append(doc, "v", 1, &t, text, strlen(text), &sc, why, cap,
                         &too_large);
  free(sc.buf);
  assert_false(too_large);
  if (!ok)
    assert_true(bson_empty(doc)); /* nothing appended on failure */
  return ok;
}

/* The value appended as spec for text, or fails the test. */
static void value_of(const char *spec, const char *text, bson_t *doc,
                     bson_iter_t *it)
{
  char why[128];
  if (!append_as(spec, text, doc, why, sizeof why))
    fail_msg("%s \"%s\": refused (%s)", spec, text, why);
  assert_true(bson_iter_init_find(it, doc, "v"));
}

/* Asserts that text does not fit spec, and that the reason says so. */
static void refused(const char *spec, const char *text, const char *says)
{
  bson_t doc;
  char why[128];
  if (append_as(spec, text, &doc, why, sizeof why))
    fail_msg("%s \"%s\": accepted", spec, text);
  if (!strstr(why, says))
    fail_msg("%s \"%s\": \"%s\" does not say \"%s\"", spec, text, why, says);
  bson_destroy(&doc);
}

/* Go's strconv.ParseBool: these twelve, nothing else. */
static void test_boolean(void **state)
{
  (void)state;
  static const char *const yes[] = {"1", "t", "T", "TRUE", "true", "True"};
  static const char *const no[] = {"0", "f", "F", "FALSE", "false", "False"};
  static const char *const neither[] = {
      "yes", "no", "tRUE",  "TRue",  "2",     "-1",    "on",
      "y",   "00", " true", "true ", "truee", "fALSE", "01"};
  for (size_t k = 0; k < 6; k++) {
    bson_t doc;
    bson_iter_t it;
    value_of("boolean()", yes[k], &doc, &it);
    assert_true(BSON_ITER_HOLDS_BOOL(&it) && bson_iter_bool(&it));
    bson_destroy(&doc);
    value_of("boolean()", no[k], &doc, &it);
    assert_true(BSON_ITER_HOLDS_BOOL(&it) && !bson_iter_bool(&it));
    bson_destroy(&doc);
  }
  for (size_t k = 0; k < sizeof neither / sizeof neither[0]; k++)
    refused("boolean()", neither[k], "is not a boolean");
}

static void test_int32_int64(void **state)
{
  (void)state;
  static const struct {
    const char *spec; /* int32() or int64() */
    const char *text; /* the value */
    int64_t want;     /* what it is stored as */
  } ok[] = {
      {"int32()", "0", 0},
      {"int32()", "2147483647", INT32_MAX},
      {"int32()", "-2147483648", INT32_MIN},
      {"int32()", "+7", 7},  /* a sign is accepted */
      {"int32()", "007", 7}, /* and leading zeros */
      {"int32()", "-0", 0},
      {"int64()", "9223372036854775807", INT64_MAX},
      {"int64()", "-9223372036854775808", INT64_MIN},
      {"int64()", "2147483648", 2147483648LL},
      {"int64()", "00501", 501},
  };
  for (size_t k = 0; k < sizeof ok / sizeof ok[0]; k++) {
    bson_t doc;
    bson_iter_t it;
    value_of(ok[k].spec, ok[k].text, &doc, &it);
    if (strcmp(ok[k].spec, "int32()") == 0) {
      assert_true(BSON_ITER_HOLDS_INT32(&it));
      assert_int_equal(bson_iter_int32(&it), ok[k].want);
    } else {
      assert_true(BSON_ITER_HOLDS_INT64(&it));
      assert_int_equal(bson_iter_int64(&it), ok[k].want);
    }
    bson_destroy(&doc);
  }
  static const char *const bad32[] = {
      "2147483648", "-2147483649", "9223372036854775808",
      "1.5",        "1e3",         "0x10",
      " 7",         "7 ",          "7x",
      "-",          "+",           "--7"};
  for (size_t k = 0; k < sizeof bad32 / sizeof bad32[0]; k++)
    refused("int32()", bad32[k], "is not an int32");
  static const char *const bad64[] = {"9223372036854775808",
                                      "-9223372036854775809",
                                      "99999999999999999999",
                                      "1.0",
                                      " 1",
                                      "1,000"};
  for (size_t k = 0; k < sizeof bad64 / sizeof bad64[0]; k++)
    refused("int64()", bad64[k], "is not an int64");
}

static void test_double(void **state)
{
  (void)state;
  static const struct {
    const char *text; /* the value */
    double want;      /* stored */
  } ok[] = {
      {"1.5", 1.5}, {"-0.25", -0.25}, {"1e3", 1000.0}, {"7", 7.0},
      {"+7", 7.0},  {"007", 7.0},     {".5", 0.5},     {"5.", 5.0},
  };
  for (size_t k = 0; k < sizeof ok / sizeof ok[0]; k++) {
    bson_t doc;
    bson_iter_t it;
    value_of("double()", ok[k].text, &doc, &it);
    assert_true(BSON_ITER_HOLDS_DOUBLE(&it));
    if (bson_iter_double(&it) != ok[k].want)
      fail_msg("double \"%s\" = %g", ok[k].text, bson_iter_double(&it));
    bson_destroy(&doc);
  }
  static const char *const bad[] = {"abc", "1.5x", " 1.5", "1,5", "1e", "-"};
  for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++)
    refused("double()", bad[k], "is not a double");
}

/* Decimal128, exactly as written. */
static void test_decimal(void **state)
{
  (void)state;
  static const struct {
    const char *text; /* the value */
    const char *want; /* bson_decimal128_to_string of what is stored */
  } ok[] = {
      {"12.50", "12.50"},
      {"-0", "-0"},
      {"0.000", "0.000"},
      {"1E+3", "1E+3"},
      {"1e3", "1E+3"},
      {"12345678901234567890.123456789", "12345678901234567890.123456789"},
      {"9999999999999999999999999999999999",
       "9999999999999999999999999999999999"},
      {"NaN", "NaN"},
      {"-Infinity", "-Infinity"},
  };
  for (size_t k = 0; k < sizeof ok / sizeof ok[0]; k++) {
    bson_t doc;
    bson_iter_t it;
    value_of("decimal()", ok[k].text, &doc, &it);
    assert_true(BSON_ITER_HOLDS_DECIMAL128(&it));
    bson_decimal128_t dec;
    assert_true(bson_iter_decimal128(&it, &dec));
    char got[BSON_DECIMAL128_STRING];
    bson_decimal128_to_string(&dec, got);
    if (strcmp(got, ok[k].want) != 0)
      fail_msg("decimal \"%s\" = %s, want %s", ok[k].text, got, ok[k].want);
    bson_destroy(&doc);
  }
  static const char *const bad[] = {"abc", "1.2.3", "12.5x",
                                    " 1",  "1,5",   "0x10"};
  for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++)
    refused("decimal()", bad[k], "is not a decimal");
}

/* Asserts that text as spec is generic binary holding want (n bytes). */
static void binary_is(const char *spec, const char *text, const char *want,
                      size_t n)
{
  bson_t doc;
  bson_iter_t it;
  value_of(spec, text, &doc, &it);
  assert_true(BSON_ITER_HOLDS_BINARY(&it));
  bson_subtype_t sub;
  uint32_t len;
  const uint8_t *data;
  bson_iter_binary(&it, &sub, &len, &data);
  assert_int_equal(sub, BSON_SUBTYPE_BINARY);
  if (len != n || (n && memcmp(data, want, n) != 0))
    fail_msg("%s \"%s\": %u bytes, want %zu", spec, text, len, n);
  bson_destroy(&doc);
}

static void test_binary_hex(void **state)
{
  (void)state;
  binary_is("binary(hex)", "cafe", "\xca\xfe", 2);
  binary_is("binary(hex)", "CAFE", "\xca\xfe", 2);
  binary_is("binary(hex)", "00ff", "\x00\xff", 2);
  binary_is("binary(hex)", "0123456789abcdefABCDEF",
            "\x01\x23\x45\x67\x89\xab\xcd\xef\xab\xcd\xef", 11);
  static const char *const bad[] = {"abc", "zz", "0g", "ca fe", "0x00", "-1"};
  for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++)
    refused("binary(hex)", bad[k], "is not hex");
}

/* Base64: the standard and the URL alphabet, padding optional (and any
 * number of '=' at the end). */
static void test_binary_base64(void **state)
{
  (void)state;
  binary_is("binary(base64)", "aGVsbG8=", "hello", 5);
  binary_is("binary(base64)", "aGVsbG8", "hello", 5);
  binary_is("binary(base64)", "aGVsbA==", "hell", 4);
  binary_is("binary(base64)", "aGVsbA", "hell", 4);
  binary_is("binary(base64)", "aGVsbA=", "hell", 4);
  binary_is("binary(base64)", "aGVs", "hel", 3);
  binary_is("binary(base64)", "+/8=", "\xfb\xff", 2);
  binary_is("binary(base64)", "-_8=", "\xfb\xff", 2);
  binary_is("binary(base64)", "AA==", "\x00", 1);
  binary_is("binary(base64)", "=", "", 0);
  static const char *const bad[] = {"a",        "aGVsbG8=a", "aGV sbG8",
                                    "aGVs=bG8", "aGVsbG8*",  "aGVsb===="};
  for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++)
    refused("binary(base64)", bad[k], "is not base64");
}

/* ---- mongoimport's rules ------------------------------------------------- */

/* What mongoimport 100.8.0 stores for an untyped CSV value (its autoParse():
 * strconv.ParseInt, then strconv.ParseFloat, else the text), from Go 1.19.8
 * (strconv.ParseInt(s, 10, 64) and ParseFloat(s, 64) printed by a program
 * kept out of the repository) and checked by loading the same values with
 * /work/tools/bin/mongoimport and reading them back with pymongo. */
static void test_infer_mongoimport(void **state)
{
  (void)state;
  static const infer_case_t rows[] = {
      {"007", TYPES_INFERRED_INT32, 7, 0},
      {"+5", TYPES_INFERRED_INT32, 5, 0},
      {"-0", TYPES_INFERRED_INT32, 0, 0},
      {"+0", TYPES_INFERRED_INT32, 0, 0},
      {"2147483647", TYPES_INFERRED_INT32, INT32_MAX, 0},
      {"2147483648", TYPES_INFERRED_INT64, 2147483648LL, 0},
      {"-2147483649", TYPES_INFERRED_INT64, -2147483649LL, 0},
      {"9223372036854775807", TYPES_INFERRED_INT64, INT64_MAX, 0},
      {"-9223372036854775808", TYPES_INFERRED_INT64, INT64_MIN, 0},
      {"9223372036854775808", TYPES_INFERRED_DOUBLE, 0, 9223372036854775808.0},
      {"12345678901234567890", TYPES_INFERRED_DOUBLE, 0,
       1.2345678901234567e+19},
      {"1.0", TYPES_INFERRED_DOUBLE, 0, 1.0},
      {"1e3", TYPES_INFERRED_DOUBLE, 0, 1000.0},
      {"1E5", TYPES_INFERRED_DOUBLE, 0, 100000.0},
      {".5", TYPES_INFERRED_DOUBLE, 0, 0.5},
      {"-.5", TYPES_INFERRED_DOUBLE, 0, -0.5},
      {"5.", TYPES_INFERRED_DOUBLE, 0, 5.0},
      {"1_000", TYPES_INFERRED_DOUBLE, 0, 1000.0},
      {"0x1Fp0", TYPES_INFERRED_DOUBLE, 0, 31.0},
      {"0x1_0p0", TYPES_INFERRED_DOUBLE, 0, 16.0},
      {"1e-400", TYPES_INFERRED_DOUBLE, 0, 0.0},
      {"NaN", TYPES_INFERRED_DOUBLE, 0, NAN},
      {"nan", TYPES_INFERRED_DOUBLE, 0, NAN},
      {"Infinity", TYPES_INFERRED_DOUBLE, 0, INFINITY},
      {"+Inf", TYPES_INFERRED_DOUBLE, 0, INFINITY},
      {"-infinity", TYPES_INFERRED_DOUBLE, 0, -INFINITY},
      {"inf", TYPES_INFERRED_DOUBLE, 0, INFINITY},
      {"0x1F", TYPES_INFERRED_STRING, 0, 0},  /* hex needs a p exponent */
      {"1e400", TYPES_INFERRED_STRING, 0, 0}, /* out of range */
      {"-nan", TYPES_INFERRED_STRING, 0, 0},
      {"infin", TYPES_INFERRED_STRING, 0, 0},
      {"true", TYPES_INFERRED_STRING, 0, 0},
      {"TRUE", TYPES_INFERRED_STRING, 0, 0},
      {" 5", TYPES_INFERRED_STRING, 0, 0}, /* the CSV reader trims, not this */
      {"5 ", TYPES_INFERRED_STRING, 0, 0},
      {"1__0", TYPES_INFERRED_STRING, 0, 0},
      {"_1", TYPES_INFERRED_STRING, 0, 0},
      {"1_", TYPES_INFERRED_STRING, 0, 0},
      {"1_.5", TYPES_INFERRED_STRING, 0, 0},
      {"1e", TYPES_INFERRED_STRING, 0, 0},
      {"-", TYPES_INFERRED_STRING, 0, 0},
      {"abc", TYPES_INFERRED_STRING, 0, 0},
      {"1.2.3", TYPES_INFERRED_STRING, 0, 0},
  };
  check_infer("mongoimport infer", types_infer_mongoimport, rows,
              sizeof rows / sizeof rows[0]);
  /* auto() with these rules is a type of its own: appended through
   * types_append() like any other. */
  types_type_t t = {.kind = TYPES_AUTO_MONGOIMPORT};
  bson_t doc = BSON_INITIALIZER;
  types_scratch_t sc = {NULL, 0};
  char why[64];
  bool too_large;
  assert_true(types_append(&doc, "v", 1, &t, "007", 3, &sc, why, sizeof why,
                           &too_large));
  bson_iter_t it;
  assert_true(bson_iter_init_find(&it, &doc, "v") &&
              BSON_ITER_HOLDS_INT32(&it) && bson_iter_int32(&it) == 7);
  bson_destroy(&doc);
}

/* double() reads what Go's strconv.ParseFloat reads (mongoimport's
 * double()): strtod()'s hex without exponent, "nan(...)" and leading
 * spaces are refused; underscores between digits, Infinity, NaN are not. */
static void test_double_as_go(void **state)
{
  (void)state;
  static const struct {
    const char *text; /* the value */
    double want;      /* stored */
  } ok[] = {
      {"1_000.5", 1000.5}, {"0x1p-2", 0.25}, {"Infinity", INFINITY},
      {"-Inf", -INFINITY}, {"1e-400", 0.0},  {"1e3_0", 1e30},
  };
  for (size_t k = 0; k < sizeof ok / sizeof ok[0]; k++) {
    bson_t doc;
    bson_iter_t it;
    value_of("double()", ok[k].text, &doc, &it);
    assert_true(BSON_ITER_HOLDS_DOUBLE(&it));
    if (bson_iter_double(&it) != ok[k].want)
      fail_msg("double \"%s\" = %g", ok[k].text, bson_iter_double(&it));
    bson_destroy(&doc);
  }
  bson_t doc;
  bson_iter_t it;
  value_of("double()", "NaN", &doc, &it);
  assert_true(isnan(bson_iter_double(&it)));
  bson_destroy(&doc);
  static const char *const bad[] = {"0x1F", "nan(1)", "\t1", "1e400",
                                    "1__0", "+nan",   "0x",  "1_e5"};
  for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++)
    refused("double()", bad[k], "is not a double");
  /* int32()/int64(): what strtoll() allowed and Go does not. */
  refused("int32()", "\t7", "is not an int32");
  refused("int64()", "\n7", "is not an int64");
  refused("int64()", "1_000", "is not an int64");
}

/* Base32 as Go's base32.StdEncoding.DecodeString() (mongoimport's
 * binary(base32)): RFC 4648's test vectors, padding required, upper case
 * only; rows checked against Go 1.19.8. */
static void test_binary_base32(void **state)
{
  (void)state;
  binary_is("binary(base32)", "MY======", "f", 1);
  binary_is("binary(base32)", "MZXQ====", "fo", 2);
  binary_is("binary(base32)", "MZXW6===", "foo", 3);
  binary_is("binary(base32)", "MZXW6YQ=", "foob", 4);
  binary_is("binary(base32)", "MZXW6YTB", "fooba", 5);
  binary_is("binary(base32)", "MZXW6YTBOI======", "foobar", 6);
  binary_is("binary(base32)", "MZX\nW6===", "foo", 3); /* line breaks go */
  binary_is("binary(base32)", "MY======X", "f", 1);    /* Go ignores the X */
  binary_is("binary(base32)", "AAAAAAAA", "\0\0\0\0\0", 5);
  binary_is("binary(base32)", "77777777", "\xff\xff\xff\xff\xff", 5);
  static const char *const bad[] = {"MY=====",  "mzxw6===",  "MZXW6",
                                    "M=======", "MZX=====",  "MZXW6YQ",
                                    "MZ1W6===", "MZXW6YTBOI"};
  for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++)
    refused("binary(base32)", bad[k], "is not base32");
}

/* date_oracle(FORMAT): FORMAT rewritten as mongoimport's
 * dateconv.FromOracle() does, parsed as Go's time.Parse() parses. Rows from
 * Go 1.19.8 with TZ=UTC: time.Parse(FromOracle(FORMAT), value) (the Go
 * layout in the comment). */
static void test_date_oracle(void **state)
{
  (void)state;
  static const date_case_t cases[] = {
      {"YYYY-MM-DD HH24:MI:SS", "2024-02-29 13:45:10", true, 1709214310000LL},
      {"yyyy-mm-dd hh24:mi:ss", "2024-02-29 13:45:10", true, 1709214310000LL},
      {"YYYY-MM-DD HH24:MI:SS", "2024-02-30 13:45:10", false, 0},
      {"DD-MON-YY", "05-Mar-24", true, 1709596800000LL}, /* 02-Jan-06 */
      {"DD-MON-YY", "05-MAR-24", true, 1709596800000LL},
      {"DD-MON-YYYY", "05-Mar-2024", true, 1709596800000LL},
      {"DD MONTH YYYY", "05 March 2024", true, 1709596800000LL},
      {"HH:MI AM", "01:30 PM", true, -62167170600000LL}, /* 03:04 PM */
      {"HH12:MI:SS AM", "12:00:00 AM", true, -62167219200000LL},
      {"DY, DD MON YYYY", "Tue, 05 Mar 2024", true, 1709596800000LL},
      {"DAY DD/MM/YYYY", "Tuesday 05/03/2024", true, 1709596800000LL},
      {"YYYY-MM-DD\"T\"HH24:MI:SSTZH:TZM", "2024-03-05\"T\"10:00:00+02:00",
       true, 1709625600000LL},
      {"YYYY-MM-DD HH24:MI:SS TZH", "2024-03-05 10:00:00 -05", true,
       1709650800000LL},
      {"YYYY-MM-DD HH24:MI:SS TZD", "2024-03-05 10:00:00 UTC", true,
       1709632800000LL}, /* MST */
      {"YYYYMMDD", "20240305", true, 1709596800000LL},
      {"DD.MM.YYYY", "5.03.2024", false, 0},
      {"YYYY-MM-DD", "2024-3-05", false, 0},
      {"HH24:MI", "25:00", false, 0},
  };
  check_dates("date_oracle", cases, sizeof cases / sizeof cases[0], NULL, 0);
}

static void test_type_specs(void **state)
{
  (void)state;
  static const struct {
    const char *spec;  /* as written */
    types_kind_t kind; /* what it parses to */
  } ok[] = {
      {"auto()", TYPES_AUTO},
      {"string()", TYPES_STRING},
      {"int32()", TYPES_INT32},
      {"int64()", TYPES_INT64},
      {"double()", TYPES_DOUBLE},
      {"decimal()", TYPES_DECIMAL},
      {"boolean()", TYPES_BOOLEAN},
      {"date(2006-01-02)", TYPES_DATE},
      {"date_go(2006-01-02)", TYPES_DATE},
      {"date_ms(yyyy-MM-dd)", TYPES_DATE},
      {"binary(hex)", TYPES_BINARY_HEX},
      {"binary(base64)", TYPES_BINARY_BASE64},
      {"binary(base32)", TYPES_BINARY_BASE32},
      {"date_oracle(YYYY-MM-DD)", TYPES_DATE},
  };
  for (size_t k = 0; k < sizeof ok / sizeof ok[0]; k++) {
    types_type_t t;
    bson_error_t error;
    if (!types_parse(ok[k].spec, strlen(ok[k].spec), &t, &error))
      fail_msg("%s: %s", ok[k].spec, error.message);
    assert_int_equal(t.kind, ok[k].kind);
  }
  static const struct {
    const char *spec; /* as written */
    const char *says; /* in the error */
  } bad[] = {
      {"int32", "expected NAME(ARG)"},
      {"int(", "expected NAME(ARG)"},
      {"integer()", "unknown type \"integer\""},
      {"Int32()", "unknown type"},
      {"int32(x)", "takes no argument"},
      {"binary()", "binary() takes hex, base64 or base32"},
      {"binary(b64)", "binary() takes hex, base64 or base32"},
      {"date_oracle()", "needs a layout, e.g. date_oracle(YYYY-MM-DD)"},
      {"date_ms()", "e.g. date_ms(yyyy-MM-dd)"},
      {"date_go()", "e.g. date_go(2006-01-02)"},
  };
  for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
    types_type_t t;
    bson_error_t error;
    if (types_parse(bad[k].spec, strlen(bad[k].spec), &t, &error))
      fail_msg("%s: accepted", bad[k].spec);
    if (!strstr(error.message, bad[k].says))
      fail_msg("%s: \"%s\" does not say \"%s\"", bad[k].spec, error.message,
               bad[k].says);
  }
}

static void test_split_suffix(void **state)
{
  (void)state;
  static const struct {
    const char *name; /* a header name */
    const char *base; /* the name without its suffix, NULL: no suffix */
    const char *spec; /* the suffix */
  } rows[] = {
      {"age.int32()", "age", "int32()"},
      {"born.date(2006-01-02)", "born", "date(2006-01-02)"},
      {"t.date(Jan _2 15:04:05.000)", "t", "date(Jan _2 15:04:05.000)"},
      {"addr.city.string()", "addr.city", "string()"},
      {"addr.city", NULL, NULL},
      {"f(x)", NULL, NULL},
      {"a.()", NULL, NULL},
      {"a.b(", NULL, NULL},
  };
  for (size_t k = 0; k < sizeof rows / sizeof rows[0]; k++) {
    size_t base_len = 0, spec_len = 0;
    const char *spec = NULL;
    bool got = types_split_suffix(rows[k].name, strlen(rows[k].name), &base_len,
                                  &spec, &spec_len);
    if (got != (rows[k].base != NULL))
      fail_msg("split(%s) = %d", rows[k].name, got);
    if (got && (base_len != strlen(rows[k].base) ||
                memcmp(rows[k].name, rows[k].base, base_len) != 0 ||
                spec_len != strlen(rows[k].spec) ||
                memcmp(spec, rows[k].spec, spec_len) != 0))
      fail_msg("split(%s) = %.*s + %.*s", rows[k].name, (int)base_len,
               rows[k].name, (int)spec_len, spec);
  }
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_dates_go),
      cmocka_unit_test(test_dates_java),
      cmocka_unit_test(test_date_layout_errors),
      cmocka_unit_test(test_infer),
      cmocka_unit_test(test_infer_negative_zero),
      cmocka_unit_test(test_infer_generated),
      cmocka_unit_test(test_boolean),
      cmocka_unit_test(test_int32_int64),
      cmocka_unit_test(test_double),
      cmocka_unit_test(test_decimal),
      cmocka_unit_test(test_binary_hex),
      cmocka_unit_test(test_binary_base64),
      cmocka_unit_test(test_infer_mongoimport),
      cmocka_unit_test(test_double_as_go),
      cmocka_unit_test(test_binary_base32),
      cmocka_unit_test(test_date_oracle),
      cmocka_unit_test(test_type_specs),
      cmocka_unit_test(test_split_suffix),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
