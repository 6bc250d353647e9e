/* token.h - `gatecert token`: mint a JWT access token signed by a key
 * manager's private key, as a real key manager would issue one, for calling
 * APIs secured with OAuth2 on gatecert-sim (or any gateway trusting that key).
 *
 *   gatecert token --key FILE.pem --iss ISSUER --client-id CK [--alg RS256|ES256]
 *                  [--kid K] [--sub S] [--aud A] [--lifetime SECONDS]
 *                  [--iat EPOCH] [--exp EPOCH] [--nbf EPOCH]
 *
 * The token goes to stdout followed by a newline. Claims: iss, sub (default:
 * the client id), aud (when given), azp and client_id (the client id), iat
 * (default: the wall clock now; pass --iat to mint for a fake clock), nbf (when
 * given), exp (iat + lifetime, default 3600 s, or --exp), jti (random).
 *
 * Exit codes: 0 printed, 1 the key could not be read or does not sign the
 * algorithm, 2 a usage error.
 */
#ifndef GH_TOKEN_H
#define GH_TOKEN_H

int gh_token_main(int argc, char **argv);

#endif
