/** The project's root folder. */
export declare const ROOT: string;
