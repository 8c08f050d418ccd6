using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.WebUtilities;
using Microsoft.Net.Http.Headers;
using TrustServer.Server.Options;
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

                using var buffer = new MemoryStream();
                await section.Body.CopyToAsync(buffer, request.HttpContext.RequestAborted);
                try
                {
                    uploads.Add(MetadataUpload.Parse(role, buffer.ToArray()));
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
