using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.WebUtilities;
using Microsoft.Net.Http.Headers;
using TrustServer.Tuf;
using TrustServer.Tuf.Metadata;
using TrustServer.Tuf.Validation;

namespace TrustServer.Server.Notary;

/// <summary>
/// Reads the multipart body of <c>POST /v2/&lt;gun&gt;/_trust/tuf/</c> as notary-server does (spec server-api.md §4):
/// one part per role, the role is the raw <c>filename</c> parameter (never basenamed) minus one trailing
/// <c>.json</c>, the part body is stored verbatim. Parts are checked in order; the first failure wins.
/// </summary>
internal static class UploadReader
{
    /// <summary>The parsed uploads, or the Notary error to answer with.</summary>
    public static async Task<(List<MetadataUpload>? Uploads, NotaryErrorResult? Error)> ReadAsync(HttpRequest request, LimitsOptions limits)
    {
        if (!MediaTypeHeaderValue.TryParse(request.ContentType, out var mediaType)
            || !mediaType.MediaType.Equals("multipart/form-data", StringComparison.OrdinalIgnoreCase)
            || HeaderUtilities.RemoveQuotes(mediaType.Boundary).Value is not { Length: > 0 } boundary)
        {
            return Malformed(null);
        }

        if (request.ContentLength > limits.MaxUploadBytes)
        {
            return Malformed($"the upload exceeds {limits.MaxUploadBytes} bytes");
        }

        var bodySize = request.HttpContext.Features.Get<IHttpMaxRequestBodySizeFeature>();
        if (bodySize is { IsReadOnly: false })
        {
            bodySize.MaxRequestBodySize = limits.MaxUploadBytes;
        }

        var reader = new MultipartReader(boundary, request.Body) { BodyLengthLimit = limits.MaxFileBytes, HeadersLengthLimit = 16 * 1024 };
        var uploads = new List<MetadataUpload>();
        try
        {
            while (await reader.ReadNextSectionAsync(request.HttpContext.RequestAborted) is { } section)
            {
                if (uploads.Count >= limits.MaxParts)
                {
                    return Malformed($"the upload has more than {limits.MaxParts} parts");
                }

                var role = RoleOf(section);
                if (role.Length == 0)
                {
                    return (null, NotaryErrors.Of(NotaryErrorCode.NoFilename));
                }

                if (!RoleName.IsValid(role))
                {
                    return (null, NotaryErrors.Of(NotaryErrorCode.InvalidRole, JsonValue.Create(role)));
                }

                var bytes = await ReadAllAsync(section.Body, request.HttpContext.RequestAborted);
                try
                {
                    uploads.Add(MetadataUpload.Parse(role, bytes));
                }
                catch (TufFormatException)
                {
                    return (null, NotaryErrors.Of(NotaryErrorCode.MalformedJson));
                }
            }
        }
        catch (InvalidDataException e) when (e.Message.Contains("body length limit", StringComparison.OrdinalIgnoreCase))
        {
            return Malformed($"a part exceeds {limits.MaxFileBytes} bytes");
        }
        catch (Exception e) when (e is IOException or InvalidDataException or BadHttpRequestException)
        {
            // Truncated body, boundary never found, or the request body limit: the Go server panics or fails here.
            return Malformed(e is BadHttpRequestException { StatusCode: StatusCodes.Status413PayloadTooLarge }
                ? $"the upload exceeds {limits.MaxUploadBytes} bytes"
                : null);
        }

        return (uploads, null);
    }

    // The part's bytes in one exact array. Read in chunks below the large-object threshold: a growing MemoryStream
    // would leave ~2x the part in large-object garbage (doublings plus ToArray) until the next full GC.
    private static async Task<byte[]> ReadAllAsync(Stream body, CancellationToken cancellationToken)
    {
        const int ChunkSize = 64 * 1024;
        var chunks = new List<byte[]>();
        int last;
        while (true)
        {
            var chunk = new byte[ChunkSize];
            last = await body.ReadAtLeastAsync(chunk, ChunkSize, throwOnEndOfStream: false, cancellationToken);
            chunks.Add(chunk);
            if (last < ChunkSize)
            {
                break;
            }
        }

        var result = new byte[((chunks.Count - 1) * ChunkSize) + last];
        for (var i = 0; i < chunks.Count; i++)
        {
            chunks[i].AsSpan(0, i == chunks.Count - 1 ? last : ChunkSize).CopyTo(result.AsSpan(i * ChunkSize));
        }

        return result;
    }

    // The raw filename parameter (filename* when there is no filename), with one ".json" suffix removed.
    private static string RoleOf(MultipartSection section)
    {
        if (!ContentDispositionHeaderValue.TryParse(section.ContentDisposition, out var disposition))
        {
            return string.Empty;
        }

        var name = HeaderUtilities.RemoveQuotes(disposition.FileName).Value;
        if (string.IsNullOrEmpty(name))
        {
            name = disposition.FileNameStar.Value ?? string.Empty;
        }

        return name.EndsWith(".json", StringComparison.Ordinal) ? name[..^".json".Length] : name;
    }

    private static (List<MetadataUpload>?, NotaryErrorResult?) Malformed(string? detail) =>
        (null, NotaryErrors.Of(NotaryErrorCode.MalformedUpload, detail is null ? null : JsonValue.Create(detail)));
}
