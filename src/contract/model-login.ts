/**
 * The model sign-in's contract between the Agent and the container
 * (container/model-login.sh): where its output goes and how much of it the
 * Agent reads. Pure data.
 */

/** The sign-in's output, beside the boot status file. */
export const MODEL_LOGIN_LOG_NAME = 'model-login.log';
/** The most of that output the Agent reads (its end). */
export const MAX_LOGIN_LOG_BYTES = 32 * 1024;
/** The script that starts and cancels a sign-in, inside the image. */
export const MODEL_LOGIN_SCRIPT_PATH = '/container/model-login.sh';
