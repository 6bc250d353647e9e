/* profile.c - profile names, their products and how scenario words match
 * them (profile.h). A table, so adding a version is one row. */
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
    {"sap", "sap", "SAP API Management (as documented)"},
};
#define PROFILE_COUNT (sizeof(PROFILES) / sizeof(PROFILES[0]))

static const profile_row *find(const char *canonical) {
  for (size_t i = 0; canonical != NULL && i < PROFILE_COUNT; i++)
    if (strcmp(PROFILES[i].name, canonical) == 0)
      return &PROFILES[i];
  return NULL;
}

const char *gh_profile_canonical(const char *name) {
  if (name != NULL && strcmp(name, "wso2") == 0)
    return "wso2-4";
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

const char *gh_profile_words(void) { return "wso2, wso2-4, wso2-2.6, sap"; }

const char *gh_profile_family(const char *word) {
  for (size_t i = 0; word != NULL && i < PROFILE_COUNT; i++)
    if (strcmp(word, PROFILES[i].name) == 0 || strcmp(word, PROFILES[i].family) == 0)
      return PROFILES[i].family;
  return NULL;
}

static const gh_cert_paths CERT_PATHS[] = {
    {"wso2-2.6", "/api/am/publisher/v0.14/certificates",
     "/api/am/publisher/v0.14/clientCertificates"},
    {NULL, "/api/am/publisher/v4/endpoint-certificates", NULL},
};

const gh_cert_paths *gh_profile_cert_paths(const char *profile) {
  const char *canonical = gh_profile_canonical(profile);
  size_t i = 0;
  while (CERT_PATHS[i].profile && !(canonical && strcmp(CERT_PATHS[i].profile, canonical) == 0))
    i++;
  return &CERT_PATHS[i];
}
