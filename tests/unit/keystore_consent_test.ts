/**
 * Tests of the keystore's consent and verification state (core/keystore/keystore_consent.ts,
 * the `contact` and `verified_at` columns of friends) and of the schema migration that
 * added them, on each backend: a keystore file through node:sqlite, and sql.js in memory
 * persisted as an image. See tests/helpers/keystore_consent_conformance.ts.
 *
 * @module
 */

import { FILE_BACKEND, SQLJS_BACKEND } from "../helpers/keystore_backends.ts";
import { keystoreConsentConformance } from "../helpers/keystore_consent_conformance.ts";

keystoreConsentConformance(FILE_BACKEND);
keystoreConsentConformance(SQLJS_BACKEND);
