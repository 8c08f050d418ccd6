using static TrustServer.Server.Notary.NotaryApiResponse;

namespace TrustServer.Server.Notary;

/// <summary>The Notary v1 route table: dispatch, required access and the OpenAPI description in one place.</summary>
internal static partial class NotaryEndpoints
{
    private const string Tuf = "/v2/{gun}/_trust/tuf/";
    private const string Json = "application/json";
    private const string Push = "push";
    private const string Pull = "pull";
    private const string All = "*";

    // Responses several routes share. Declared before Routes: static fields initialize in text order.
    private static readonly NotaryApiResponse Metadata = Ok("The exact stored bytes of the signed metadata file.", Json);
    private static readonly NotaryApiResponse PublicKey = Ok("The public key: {\"keytype\":\"ecdsa|ed25519\",\"keyval\":{\"public\":base64,\"private\":null}}.", Json);
    private static readonly NotaryApiResponse Changes = Ok(
        "{\"count\":n,\"records\":[{\"ID\":\"1\",\"CreatedAt\":RFC 3339,\"GUN\":…,\"Version\":n,\"SHA256\":hex,\"Category\":\"update|deletion\"}]}.", Json);

    private static readonly NotaryApiResponse NotFound = Error("404", "METADATA_NOT_FOUND");
    private static readonly NotaryApiResponse KeyCreationLimited =
        Error("429", "TOOMANYREQUESTS (the client created more keys than RateLimits:KeyCreations allows; Retry-After says when to retry)");

    private static readonly NotaryApiResponse SignerFailure = Error("500", "UNKNOWN (signing service failure)");
    private static readonly NotaryApiResponse ParameterError = Error("400", "INVALID_PARAMETERS (records missing or not a 32-bit integer; change_id not an integer)");

    private static readonly NotaryQueryParameter[] ChangefeedQuery =
    [
        new("records", "How many records (32-bit): positive reads forward from change_id, negative reads backward; 0 means 100.", Required: true),
        new("change_id", "Start after (forward) or before (backward) this record id; -1 means the newest. The record itself is never included."),
    ];

    /// <summary>notary-server's routes in its order; the first match wins (spec server-api.md §1).</summary>
    public static IReadOnlyList<NotaryRoute> Routes { get; } =
    [
        new("Ping", "GET", "/v2/", PingAsync, [], new("Ping; the notary client calls it before any other request.", Ok("`{}`", Json))),
        new("UpdateTUF", "POST", Tuf, UpdateAsync, [Push, Pull], new(
            "Publish metadata: one multipart part per role, the part's filename is the role name (slashes kept, a trailing .json removed); an uploaded timestamp is ignored. Validated as notary-server does; all files and the generated snapshot/timestamp are stored in one transaction.",
            Ok("Stored; empty body."),
            Error("400", "MALFORMED_UPLOAD (not multipart, broken body, over a limit), NO_FILENAME, INVALID_ROLE (detail: the role), MALFORMED_JSON, INVALID_UPDATE (detail: {\"Name\":\"ErrBadRoot|ErrBadTargets|ErrBadSnapshot|ErrBadHierarchy|ErrValidation\",\"Error\":{\"Msg\":…}}), VERSION (a newer version is stored, or a concurrent update won), INVALID_GUN"),
            Error("500", "UPDATING (storage or signing service failure; nothing stored)"))
        {
            Upload = "Signed metadata files; each part's filename is its role (root, targets, targets/…, snapshot).",
        })
        {
            IsUpdate = true,
        },
        new("GetRoleByHash", "GET", Tuf + "{role}.{checksum}.json", GetByChecksumAsync, [Pull], new(
            "A stored file by its SHA-256 (lowercase hex; 96/128 hex digits are accepted by the route and never found). Cache-Control: consistent max-age.",
            Metadata, NotFound)),
        new("GetRoleByVersion", "GET", Tuf + "{version}.{role}.json", GetByVersionAsync, [Pull], new(
            "A stored version of a role (all versions stay available until the repository is deleted). Cache-Control: consistent max-age.",
            Metadata, NotFound)),
        new("GetRole", "GET", Tuf + "{role}.json", GetCurrentAsync, [Pull], new(
            "The current file of a role (reached from the current timestamp). An expired server-signed timestamp or snapshot is re-signed first. Cache-Control: current max-age with must-revalidate.",
            Metadata, NotFound, Error("500", "UNKNOWN (an expired file cannot be re-signed, e.g. the signer is unavailable)"))),
        new("GetKey", "GET", Tuf + "{keyRole}.key", GetKeyAsync, [Push, Pull], new(
            "The server-managed key of the role: the first key of the current root the signer holds, else a pending key (created once and reused until used).",
            PublicKey, NotFound, KeyCreationLimited, SignerFailure)),
        new("RotateKey", "POST", Tuf + "{keyRole}.key", RotateKeyAsync, [All], new(
            "Create (or return the pending) new server-managed key of the role; the client then publishes a root listing it.",
            PublicKey, NotFound, KeyCreationLimited, SignerFailure)),
        new("DeleteTUF", "DELETE", Tuf, DeleteAsync, [All], new(
            "Delete every metadata file of the repository (signer keys stay); a deletion record goes to the changefeed. 200 also for unknown repositories.",
            Ok("Deleted; empty body."), Error("500", "UNKNOWN"))),
        new("Changefeed", "GET", "/v2/{gun}/_trust/changefeed", ChangefeedAsync, [Pull], new("Changes (publishes, re-signs, deletion) of one repository.", Changes, ParameterError)
        {
            OperationId = "GetRepositoryChangefeed",
            Query = ChangefeedQuery,
        }),
        new("Changefeed", "GET", "/v2/_trust/changefeed", ChangefeedAsync, [All], new("Changes of all repositories.", Changes, ParameterError)
        {
            OperationId = "GetChangefeed",
            Query = ChangefeedQuery,
        }),
        new("Health", "GET", "/_notary_server/health", HealthAsync, null, new(
            "notary-server's health: {} when healthy; 503 with the failing checks (\"DB operational\", \"Trust operational\").",
            Ok("Healthy: `{}`.", Json), new("503", "Failing checks by name."))
        {
            OperationId = "NotaryHealth",
        }),
    ];
}
