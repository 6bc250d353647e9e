/* profile.c - profile names, their products and how scenario words match
 * them (profile.h). Tables, so adding a version is one row: PROFILES (the
 * canonical names and their families), ALIASES (a family word that names
 * one version on the command line) and CERT_PATHS (where each profile's
 * admin API keeps endpoint certificates). */
#include <stddef.h>
#include <string.h>

#include "profile.h"

typedef struct profile_row {
  const char *name;   /* canonical */
  const char *family; /* the scenario word that covers every version */
  const char *product;
} profile_row;

static const profile_row PROFILES[] = {
    {"wso2-4", "wso2", "WSO2 API Manager 4.x (as its code behaves)"},
    {"wso2-2.6", "wso2", "WSO2 API Manager 2.6 (as documented)"},
    {"sap-2023", "sap", "SAP API Management, the 2023 Manage Certificates page (as documented)"},
    {"sap-2026", "sap", "SAP API Management, the current Manage Certificates page (as documented)"},
};
#define PROFILE_COUNT (sizeof(PROFILES) / sizeof(PROFILES[0]))

/* A family word given where one profile is run: its current version. */
static const struct {
  const char *word;
  const char *canonical;
} ALIASES[] = {{"wso2", "wso2-4"}, {"sap", "sap-2026"}};

static const profile_row *find(const char *canonical) {
  for (size_t i = 0; canonical != NULL && i < PROFILE_COUNT; i++)
    if (strcmp(PROFILES[i].name, canonical) == 0)
      return &PROFILES[i];
  return NULL;
}

const char *gh_profile_canonical(const char *name) {
  for (size_t i = 0; name != NULL && i < sizeof(ALIASES) / sizeof(ALIASES[0]); i++)
    if (strcmp(name, ALIASES[i].word) == 0)
      return ALIASES[i].canonical;
  const profile_row *row = find(name);
  return row != NULL ? row->name : NULL;
}

const char *gh_profile_product(const char *canonical) {
  const profile_row *row = find(gh_profile_canonical(canonical));
  return row != NULL ? row->product : "";
}

int gh_profile_match(const char *word, const char *canonical) {
  const profile_row *row = find(gh_profile_canonical(canonical));
  if (word == NULL || row == NULL)
    return 0;
  if (strcmp(word, row->name) == 0)
    return 2;
  return strcmp(word, row->family) == 0 ? 1 : 0;
}

int gh_profile_word_valid(const char *word) {
  if (word == NULL)
    return 0;
  for (size_t i = 0; i < PROFILE_COUNT; i++)
    if (strcmp(word, PROFILES[i].name) == 0 || strcmp(word, PROFILES[i].family) == 0)
      return 1;
  return 0;
}

const char *gh_profile_words(void) { return "wso2, wso2-4, wso2-2.6, sap, sap-2023, sap-2026"; }

const char *gh_profile_family(const char *word) {
  for (size_t i = 0; word != NULL && i < PROFILE_COUNT; i++)
    if (strcmp(word, PROFILES[i].name) == 0 || strcmp(word, PROFILES[i].family) == 0)
      return PROFILES[i].family;
  return NULL;
}

/* Rows are matched by gh_profile_match (a version or its family), the first
 * that fits; the last row is every other profile. */
static const gh_cert_paths CERT_PATHS[] = {
    {"wso2-2.6", "/api/am/publisher/v0.14/certificates",
     "/api/am/publisher/v0.14/clientCertificates", NULL},
    {"sap", "/api/am/publisher/v4/endpoint-certificates", NULL, GH_SAP_ODATA_BASE},
    {NULL, "/api/am/publisher/v4/endpoint-certificates", NULL, NULL},
};

const gh_cert_paths *gh_profile_cert_paths(const char *profile) {
  size_t i = 0;
  while (CERT_PATHS[i].profile && gh_profile_match(CERT_PATHS[i].profile, profile) == 0)
    i++;
  return &CERT_PATHS[i];
}
