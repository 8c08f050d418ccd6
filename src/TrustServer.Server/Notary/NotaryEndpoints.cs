using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Microsoft.Extensions.Options;
using TrustServer.Data;
using TrustServer.Server.Audit;
using TrustServer.Server.Auth;
using TrustServer.Server.Options;
using TrustServer.Signing;
using TrustServer.Signing.Remote;
using TrustServer.Tuf;
using TrustServer.Tuf.Keys;
using TrustServer.Tuf.Metadata;
using TrustServer.Tuf.Validation;

namespace TrustServer.Server.Notary;

/// <summary>The Notary v1 HTTP API (spec server-api.md): wiring and handlers; the route table is in NotaryRoutes.cs.</summary>
internal static partial class NotaryEndpoints
{
    private const int DefaultChangefeedPage = 100;
    private const string SignerUnavailableDetail = "the signing service is unavailable";

    /// <summary>Serves the Notary routes (<see cref="Routes"/>) for every request not handled earlier in the pipeline.</summary>
    public static IEndpointRouteBuilder MapNotaryEndpoints(this IEndpointRouteBuilder endpoints)
    {
        var router = new NotaryRouter(Routes, endpoints.ServiceProvider.GetService<NotaryAuthorization>());
        endpoints.Map("/{**path}", context => router.DispatchAsync(context)).ExcludeFromDescription();
        return endpoints;
    }

    private static Task<IResult> PingAsync(HttpContext context, Match match) => Task.FromResult<IResult>(new BytesResult("{}"u8.ToArray()));

    private static T Service<T>(HttpContext context)
        where T : notnull => context.RequestServices.GetRequiredService<T>();

    private static CachingOptions Caching(HttpContext context) => context.RequestServices.GetRequiredService<IOptions<CachingOptions>>().Value;

    private static async Task<IResult> UpdateAsync(HttpContext context, Match match)
    {
        var gun = match.Groups["gun"].Value;
        var limits = Service<IOptions<LimitsOptions>>(context).Value;
        var gate = Service<UploadGate>(context);
        using var turn = await gate.EnterAsync(context.RequestAborted);
        if (turn is null)
        {
            // The body stays unread: waiting uploads cost a connection, not memory.
            ClientThrottling.SetRetryAfter(context.Response, gate.TimeoutSeconds);
            return NotaryErrors.Of(NotaryErrorCode.Unavailable, JsonValue.Create($"more than {limits.MaxConcurrentUploads} uploads in progress; retry later"));
        }

        var (uploads, error) = await UploadReader.ReadAsync(context.Request, limits);
        if (error is not null)
        {
            return error;
        }

        PublishOutcome outcome;
        try
        {
            outcome = await Service<RepositoryPublisher>(context).PublishAsync(gun, uploads!, AuditTrail.ActorOf(context), context.RequestAborted);
        }
        catch (SignerUnavailableException e)
        {
            // Nothing was stored: validation needed a server signature first.
            LogUpdateFailed(Logger(context), gun, e);
            return NotaryErrors.Of(NotaryErrorCode.Updating, JsonValue.Create(SignerUnavailableDetail));
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            LogUpdateFailed(Logger(context), gun, e);
            return NotaryErrors.Of(NotaryErrorCode.Updating);
        }

        if (outcome.VersionConflict)
        {
            return NotaryErrors.Of(NotaryErrorCode.Version, NotaryErrorResult.EmptyDetail);
        }

        return outcome.Rejection is { } rejection ? NotaryErrors.Of(NotaryErrorCode.InvalidUpdate, ValidationDetail(rejection)) : BytesResult.Empty;
    }

    // {"Name":"ErrBadRoot","Error":{"Msg":"…"}}, with "Missing" before "Msg" for ErrBadHierarchy (validation.md §8);
    // errors without a Notary name carry no detail.
    private static JsonObject? ValidationDetail(ValidationError error)
    {
        if (error.NotaryName is null)
        {
            return null;
        }

        var inner = new JsonObject();
        if (error.Missing is not null)
        {
            inner["Missing"] = error.Missing;
        }

        inner["Msg"] = error.Message;
        return new JsonObject { ["Name"] = error.NotaryName, ["Error"] = inner };
    }

    private static async Task<IResult> GetByChecksumAsync(HttpContext context, Match match)
    {
        var file = await Service<CurrentChainReader>(context).GetByChecksumAsync(match.Groups["gun"].Value, match.Groups["role"].Value, match.Groups["checksum"].Value, context.RequestAborted);
        return file is null ? NotaryErrors.NotFound() : new MetadataResult(file.Data, file.Sha256, file.LastModified, CachePolicy.Consistent, Caching(context));
    }

    private static async Task<IResult> GetByVersionAsync(HttpContext context, Match match)
    {
        // The pattern allows "0" and leading zeros; a version beyond 64 bits cannot be stored.
        if (!long.TryParse(match.Groups["version"].Value, NumberStyles.None, CultureInfo.InvariantCulture, out var version) || version == 0)
        {
            return NotaryErrors.NotFound();
        }

        var file = await Service<CurrentChainReader>(context).GetByVersionAsync(match.Groups["gun"].Value, match.Groups["role"].Value, version, context.RequestAborted);
        return file is null ? NotaryErrors.NotFound() : new MetadataResult(file.Data, file.Sha256, file.LastModified, CachePolicy.Consistent, Caching(context));
    }

    private static async Task<IResult> GetCurrentAsync(HttpContext context, Match match)
    {
        var gun = match.Groups["gun"].Value;
        var role = match.Groups["role"].Value;
        ServedFile? file;
        try
        {
            file = role switch
            {
                RoleName.Timestamp => await Service<LazyResigner>(context).GetTimestampAsync(gun, AuditTrail.ActorOf(context), context.RequestAborted),
                RoleName.Snapshot => await Service<LazyResigner>(context).GetSnapshotAsync(gun, AuditTrail.ActorOf(context), context.RequestAborted),
                _ => await Service<CurrentChainReader>(context).GetCurrentAsync(gun, role, context.RequestAborted),
            };
        }
        catch (ServerKeyNotHeldException e)
        {
            // Not Go's 500: the client prints the detail of a 400 only, and this one names the fix (README, deviations).
            LogReadFailed(Logger(context), gun, role, e.Message);
            return NotaryErrors.Of(NotaryErrorCode.InvalidUpdate, ValidationDetail(new ValidationError(ValidationErrorKind.Validation, e.Message)));
        }
        catch (Exception e) when (e is ChainRenewalException or TufFormatException)
        {
            // Go answers 500 UNKNOWN when an expired file cannot be re-signed or stored metadata is unreadable.
            LogReadFailed(Logger(context), gun, role, e.Message);
            return NotaryErrors.Of(NotaryErrorCode.Unknown, NotaryErrorResult.EmptyDetail);
        }

        return file is null ? NotaryErrors.NotFound() : new MetadataResult(file.Data, file.Sha256, file.LastModified, CachePolicy.Current, Caching(context));
    }

    private static Task<IResult> GetKeyAsync(HttpContext context, Match match) => KeyAsync(context, match, rotate: false);

    private static Task<IResult> RotateKeyAsync(HttpContext context, Match match) => KeyAsync(context, match, rotate: true);

    // GET answers the key the current root lists when the signer holds it (a read); otherwise, and for every POST, the
    // signer creates one, and only that counts against the client's RateLimits:KeyCreations.
    private static async Task<IResult> KeyAsync(HttpContext context, Match match, bool rotate)
    {
        var gun = match.Groups["gun"].Value;
        var role = match.Groups["role"].Value;
        var algorithm = context.RequestServices.GetRequiredService<IOptions<SigningOptions>>().Value.KeyAlgorithm;
        var keys = Service<ServerKeys>(context);
        TufPublicKey? key;
        try
        {
            key = rotate ? null : await keys.GetHeldKeyAsync(gun, role, context.RequestAborted);
            if (key is null)
            {
                if (context.RequestServices.GetRequiredService<KeyCreationLimiter>().TryAcquire(context, gun) is { } limited)
                {
                    return limited;
                }

                key = await keys.CreateKeyAsync(gun, role, algorithm, rotate, AuditTrail.ActorOf(context), context.RequestAborted);
            }
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            LogKeyFailed(Logger(context), gun, role, e);
            return NotaryErrors.Of(NotaryErrorCode.Unknown, e is SignerUnavailableException ? JsonValue.Create(SignerUnavailableDetail) : NotaryErrorResult.EmptyDetail);
        }

        // Go's encoder order, "public" before "private", no trailing newline (spec server-api.md §7.1).
        var body = $"{{\"keytype\":\"{key.KeyType}\",\"keyval\":{{\"public\":\"{Convert.ToBase64String(key.Public)}\",\"private\":null}}}}";
        return new BytesResult(Encoding.UTF8.GetBytes(body));
    }

    private static async Task<IResult> DeleteAsync(HttpContext context, Match match)
    {
        var gun = match.Groups["gun"].Value;
        var actor = AuditTrail.ActorOf(context);
        if (await Service<RepositoryPublisher>(context).DeleteAsync(gun, actor, context.RequestAborted))
        {
            LogDeleted(Logger(context), gun, actor.Principal);
        }

        return BytesResult.Empty;
    }

    // Spec server-api.md §10: records is required (32-bit), change_id optional (32-bit); 0 records = 100.
    private static async Task<IResult> ChangefeedAsync(HttpContext context, Match match)
    {
        var gunGroup = match.Groups["gun"];
        var gun = gunGroup.Success ? gunGroup.Value : null;
        var query = context.Request.Query;
        var recordsText = query["records"].FirstOrDefault() ?? string.Empty;
        if (!int.TryParse(recordsText, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var records))
        {
            // Go's strconv error text, which notary-server passes on as the detail.
            var reason = DigitsPattern().IsMatch(recordsText) ? "value out of range" : "invalid syntax";
            return NotaryErrors.Of(NotaryErrorCode.InvalidParameters, JsonValue.Create($"invalid records parameter: strconv.ParseInt: parsing {JsonSerializer.Serialize(recordsText)}: {reason}"));
        }

        var changeIdText = query["change_id"].FirstOrDefault() ?? string.Empty;
        var changeId = 0;
        if (changeIdText.Length > 0 && !int.TryParse(changeIdText, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out changeId))
        {
            return NotaryErrors.Of(NotaryErrorCode.InvalidParameters, NotaryErrorResult.EmptyDetail);
        }

        var changes = await context.RequestServices.GetRequiredService<IMetadataStore>()
            .GetChangesAsync(gun, changeId, records == 0 ? DefaultChangefeedPage : records, context.RequestAborted);
        var list = new JsonArray();
        foreach (var change in changes)
        {
            list.Add(new JsonObject
            {
                ["ID"] = change.Id.ToString(CultureInfo.InvariantCulture),
                ["CreatedAt"] = change.CreatedAt.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.FFFFFFF'Z'", CultureInfo.InvariantCulture),
                ["GUN"] = change.Gun,
                ["Version"] = change.Version,
                ["SHA256"] = change.Sha256,
                ["Category"] = change.Category,
            });
        }

        var body = new JsonObject { ["count"] = changes.Count, ["records"] = list };
        return new BytesResult(JsonSerializer.SerializeToUtf8Bytes(body));
    }

    // notary-server's checks (spec server-api.md §11): "DB operational" and, with a remote signer, "Trust operational".
    private static async Task<IResult> HealthAsync(HttpContext context, Match match)
    {
        var failures = new JsonObject();
        if (!await context.RequestServices.GetRequiredService<IMetadataStore>().IsOperationalAsync(context.RequestAborted))
        {
            failures["DB operational"] = "Cannot access table: tuf_files";
        }

        if (context.RequestServices.GetService<ISignerHealth>() is { } signer
            && await signer.CheckHealthAsync(context.RequestAborted) is { } problem)
        {
            failures["Trust operational"] = "Trust is not operational: " + problem;
        }

        return new BytesResult(
            JsonSerializer.SerializeToUtf8Bytes(failures),
            "application/json; charset=utf-8",
            failures.Count == 0 ? StatusCodes.Status200OK : StatusCodes.Status503ServiceUnavailable);
    }

    [GeneratedRegex("^[+-]?[0-9]+$")]
    private static partial Regex DigitsPattern();

    private static ILogger Logger(HttpContext context) => context.RequestServices.GetRequiredService<ILoggerFactory>().CreateLogger(typeof(NotaryEndpoints));

    [LoggerMessage(EventId = 1101, Level = LogLevel.Error, Message = "Update of {Gun} failed")]
    private static partial void LogUpdateFailed(ILogger logger, string gun, Exception exception);

    [LoggerMessage(EventId = 1102, Level = LogLevel.Error, Message = "Reading {Role} of {Gun} failed: {Reason}")]
    private static partial void LogReadFailed(ILogger logger, string gun, string role, string reason);

    [LoggerMessage(EventId = 1103, Level = LogLevel.Error, Message = "Key operation for {Role} of {Gun} failed")]
    private static partial void LogKeyFailed(ILogger logger, string gun, string role, Exception exception);

    [LoggerMessage(EventId = 1104, Level = LogLevel.Information, Message = "Deleted all metadata of {Gun} by {Principal}")]
    private static partial void LogDeleted(ILogger logger, string gun, string principal);
}
