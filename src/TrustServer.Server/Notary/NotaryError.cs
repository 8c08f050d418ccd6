using System.Collections.Concurrent;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace TrustServer.Server.Notary;

/// <summary>
/// A Notary error code with its fixed HTTP status and message (spec server-api.md §12). Errors are written as
/// <c>{"errors":[{"code","message","detail"}]}</c> plus a newline, <c>detail</c> omitted when null.
/// </summary>
internal sealed record NotaryErrorCode(string Code, int Status, string Message)
{
    public static readonly NotaryErrorCode NoFilename = new("NO_FILENAME", 400, "No file/role name provided.");
    public static readonly NotaryErrorCode InvalidRole = new("INVALID_ROLE", 400, "The role you are attempting to operate on is invalid.");
    public static readonly NotaryErrorCode MalformedJson = new("MALFORMED_JSON", 400, "JSON sent by the client could not be parsed by the server");
    public static readonly NotaryErrorCode Updating = new("UPDATING", 500, "An error has occurred while updating the TUF repository.");
    public static readonly NotaryErrorCode Version = new("VERSION", 400, "A newer version of metadata is already available.");
    public static readonly NotaryErrorCode MetadataNotFound = new("METADATA_NOT_FOUND", 404, "You have requested metadata that does not exist.");
    public static readonly NotaryErrorCode InvalidUpdate = new("INVALID_UPDATE", 400, "Update sent by the client is invalid.");
    public static readonly NotaryErrorCode MalformedUpload = new("MALFORMED_UPLOAD", 400, "The body of your request is malformed.");
    public static readonly NotaryErrorCode InvalidGun = new("INVALID_GUN", 400, "The server does not support actions on images of this name.");
    public static readonly NotaryErrorCode InvalidParameters = new("INVALID_PARAMETERS", 400, "The parameters provided are not valid.");
    public static readonly NotaryErrorCode Unknown = new("UNKNOWN", 500, "unknown error");
    public static readonly NotaryErrorCode Unauthorized = new("UNAUTHORIZED", 401, "authentication required");

    /// <summary>The generic errcode of Notary's error package; answered when no upload turn came in time (README, Limits).</summary>
    public static readonly NotaryErrorCode Unavailable = new("UNAVAILABLE", 503, "service unavailable");
    // Not in Notary 0.7.0's catalogue: docker/distribution's generic errcode for rate limits (errcode/register.go).
    public static readonly NotaryErrorCode TooManyRequests = new("TOOMANYREQUESTS", 429, "too many requests");
}

/// <summary>An error response in the Notary envelope.</summary>
internal sealed class NotaryErrorResult(NotaryErrorCode code, JsonNode? detail) : IResult
{
    /// <summary>The <c>detail</c> Notary writes for store errors such as "not found" or "old version": an empty object.</summary>
    public static JsonObject EmptyDetail => [];

    public NotaryErrorCode Code => code;

    public Task ExecuteAsync(HttpContext httpContext)
    {
        // One buffer, one write: the body and Go's trailing newline leave in one TLS record.
        var bytes = detail is null || detail is JsonObject { Count: 0 }
            ? FixedBodies.GetOrAdd((code, detail is not null), static key => Serialize(key.Code, key.EmptyDetail ? EmptyDetail : null))
            : Serialize(code, detail);
        httpContext.Response.StatusCode = code.Status;
        httpContext.Response.ContentType = "application/json; charset=utf-8";
        httpContext.Response.ContentLength = bytes.Length;
        return httpContext.Response.Body.WriteAsync(bytes, httpContext.RequestAborted).AsTask();
    }

    // Bodies without detail or with the empty detail depend only on the code (one of the fixed set above): serialized
    // once per code.
    private static readonly ConcurrentDictionary<(NotaryErrorCode Code, bool EmptyDetail), byte[]> FixedBodies = new();

    private static byte[] Serialize(NotaryErrorCode code, JsonNode? detail)
    {
        var error = new JsonObject { ["code"] = code.Code, ["message"] = code.Message };
        if (detail is not null)
        {
            error["detail"] = detail.DeepClone();
        }

        var body = new JsonObject { ["errors"] = new JsonArray(error) };
        return [.. JsonSerializer.SerializeToUtf8Bytes(body, JsonOptions), (byte)'\n'];
    }

    // Go's encoder escapes < > & in strings; the client does not care, but relaxed escaping keeps messages readable.
    private static readonly JsonSerializerOptions JsonOptions = new() { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };
}

/// <summary>Shorthands for the errors the handlers return.</summary>
internal static class NotaryErrors
{
    public static NotaryErrorResult Of(NotaryErrorCode code, JsonNode? detail = null) => new(code, detail);

    /// <summary>404 for a store lookup that found nothing: <c>"detail":{}</c>.</summary>
    public static NotaryErrorResult NotFound() => new(NotaryErrorCode.MetadataNotFound, NotaryErrorResult.EmptyDetail);

    /// <summary>404 without detail: unknown URLs, prefix-filtered GUNs, invalid key roles.</summary>
    public static NotaryErrorResult RouteNotFound() => new(NotaryErrorCode.MetadataNotFound, null);
}
