export declare const MANIFEST_ARGS: string[];
export declare const MANIFEST_HEADER: string;
