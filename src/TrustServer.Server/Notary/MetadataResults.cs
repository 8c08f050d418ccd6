using System.Globalization;

namespace TrustServer.Server.Notary;

/// <summary>Which Cache-Control policy a metadata GET gets (spec server-api.md §5.4).</summary>
internal enum CachePolicy
{
    /// <summary><c>&lt;role&gt;.json</c>: changes on every publish.</summary>
    Current,

    /// <summary>By checksum or version: immutable.</summary>
    Consistent,
}

/// <summary>
/// 200 with exact stored bytes, <c>Content-Length</c>, <c>Last-Modified</c>, Notary's cache headers and an
/// <c>ETag</c> (the file's SHA-256); a matching <c>If-None-Match</c> gets 304 without a body.
/// </summary>
internal sealed class MetadataResult(byte[] data, string sha256, DateTimeOffset lastModified, CachePolicy policy, CachingOptions caching) : IResult
{
    public Task ExecuteAsync(HttpContext httpContext)
    {
        var response = httpContext.Response;
        var etag = "\"" + sha256 + "\"";
        var notModified = IsMatch(httpContext.Request.Headers.IfNoneMatch, etag);
        response.StatusCode = notModified ? StatusCodes.Status304NotModified : StatusCodes.Status200OK;
        response.Headers.ETag = etag;
        response.Headers.LastModified = lastModified.ToUniversalTime().ToString("r", CultureInfo.InvariantCulture);
        var maxAge = policy == CachePolicy.Current ? caching.CurrentMetadata : caching.ConsistentMetadata;
        if (maxAge == 0)
        {
            response.Headers.CacheControl = "max-age=0, no-cache, no-store";
            response.Headers.Pragma = "no-cache";
        }
        else
        {
            response.Headers.CacheControl = policy == CachePolicy.Current
                ? $"public, max-age={maxAge}, s-maxage={maxAge}, must-revalidate"
                : $"public, max-age={maxAge}, s-maxage={maxAge}";
        }

        if (notModified)
        {
            return Task.CompletedTask;
        }

        response.ContentType = "application/json";
        response.ContentLength = data.Length;
        return response.Body.WriteAsync(data, httpContext.RequestAborted).AsTask();
    }

    // If-None-Match: "*" or a list of (possibly weak) entity tags.
    private static bool IsMatch(Microsoft.Extensions.Primitives.StringValues header, string etag)
    {
        foreach (var value in header)
        {
            foreach (var candidate in (value ?? string.Empty).Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
            {
                if (candidate == "*" || candidate == etag || candidate == "W/" + etag)
                {
                    return true;
                }
            }
        }

        return false;
    }
}

/// <summary>A 200 with fixed bytes (no cache headers): <c>/v2/</c>, keys, changefeed, empty POST/DELETE answers.</summary>
internal sealed class BytesResult(byte[] data, string? contentType = "application/json", int status = StatusCodes.Status200OK) : IResult
{
    public static readonly BytesResult Empty = new([], null);

    public Task ExecuteAsync(HttpContext httpContext)
    {
        httpContext.Response.StatusCode = status;
        if (contentType is not null)
        {
            httpContext.Response.ContentType = contentType;
        }

        httpContext.Response.ContentLength = data.Length;
        return data.Length == 0 ? Task.CompletedTask : httpContext.Response.Body.WriteAsync(data, httpContext.RequestAborted).AsTask();
    }
}
