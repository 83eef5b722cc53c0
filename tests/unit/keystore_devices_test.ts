/**
 * Tests of the keystore's part of linked devices (core/keystore/keystore_devices.ts: this
 * device's own keys and the device lists pinned per user) and of the schema migration that
 * added it, on each backend: a keystore file through node:sqlite, and sql.js in memory
 * persisted as an image. See tests/helpers/keystore_devices_conformance.ts.
 *
 * @module
 */

import { FILE_BACKEND, SQLJS_BACKEND } from "../helpers/keystore_backends.ts";
import { keystoreDevicesConformance } from "../helpers/keystore_devices_conformance.ts";

keystoreDevicesConformance(FILE_BACKEND);
keystoreDevicesConformance(SQLJS_BACKEND);
