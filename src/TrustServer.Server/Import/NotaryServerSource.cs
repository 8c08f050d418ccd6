using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Security;
using System.Runtime.CompilerServices;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using TrustServer.Data.Import;
using TrustServer.Tuf;
using TrustServer.Tuf.Metadata;

namespace TrustServer.Server.Import;

/// <summary>How <see cref="NotaryServerSource"/> authenticates: none, Docker token auth with basic credentials, or a given bearer token.</summary>
public sealed record NotaryServerCredentials(string? Username, string? Password, string? BearerToken)
{
    /// <summary>No credentials: anonymous reads.</summary>
    public static NotaryServerCredentials None { get; } = new(null, null, null);

    /// <inheritdoc/>
    public override string ToString() => BearerToken is not null ? "bearer token" : Username is not null ? $"user {Username}" : "anonymous";
}

/// <summary>
/// A live notary-server read through its API (<c>import notary-server</c>, issue 14 §4), for when its database is out of
/// reach (hosted services): per repository, every version of every role by <c>&lt;version&gt;.&lt;role&gt;.json</c>
/// (roles from root, targets and every delegation any targets version names; versions 1 to current, gaps tolerated)
/// and the repository's changefeed. Docker token auth: a 401's <c>WWW-Authenticate: Bearer realm,service,scope</c>
/// challenge is answered by fetching a token from the realm with the basic credentials, or a given token is sent.
/// TLS is verified against the system roots or, with a CA file, against that file only. Credentials and tokens are
/// never part of a message.
/// </summary>
public sealed class NotaryServerSource : INotarySource
{
    // Bounds on what a source may make us read: notary's own limits (1 MiB timestamp, 100 MiB otherwise) and a page size.
    private const long MaxFileBytes = 100L << 20;
    private const long MaxTokenResponseBytes = 1L << 20;
    private const int ChangefeedPage = 1000;
    private const int MaxRoles = 10_000;

    private readonly Uri _baseUrl;
    private readonly IReadOnlyList<string> _guns;
    private readonly NotaryServerCredentials _credentials;
    private readonly HttpClient _http;
    private readonly X509Certificate2Collection? _trustedRoots;
    private readonly Dictionary<string, string> _tokens = new(StringComparer.Ordinal);
    private readonly Dictionary<string, List<ImportedChange>> _changes = new(StringComparer.Ordinal);

    /// <summary>Creates a source; nothing is contacted before <see cref="OpenAsync"/>.</summary>
    /// <param name="baseUrl">The server's base URL (https, or http for tests on loopback).</param>
    /// <param name="caFile">PEM file of the CA certificates to trust instead of the system's, or null.</param>
    /// <param name="guns">The repositories to import; empty = every GUN of the global changefeed.</param>
    /// <param name="credentials">How to authenticate.</param>
    /// <param name="timeout">Per-request timeout.</param>
    /// <exception cref="ImportSourceException">The CA file cannot be read.</exception>
    public NotaryServerSource(Uri baseUrl, string? caFile, IReadOnlyList<string> guns, NotaryServerCredentials credentials, TimeSpan timeout)
    {
        ArgumentNullException.ThrowIfNull(baseUrl);
        _baseUrl = new Uri(baseUrl.GetLeftPart(UriPartial.Path).TrimEnd('/') + "/");
        _guns = guns;
        _credentials = credentials;
        var handler = new SocketsHttpHandler { AllowAutoRedirect = false, AutomaticDecompression = DecompressionMethods.None, ConnectTimeout = timeout };
        if (caFile is not null)
        {
            try
            {
                _trustedRoots = [];
                _trustedRoots.ImportFromPemFile(caFile);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or CryptographicException)
            {
                throw new ImportSourceException($"--ca-file {caFile} cannot be read as PEM certificates: {ex.Message}", ex);
            }

            if (_trustedRoots.Count == 0)
            {
                throw new ImportSourceException($"--ca-file {caFile} holds no certificate");
            }

            handler.SslOptions = new SslClientAuthenticationOptions { RemoteCertificateValidationCallback = ValidateWithCaFile };
        }

        _http = new HttpClient(handler) { Timeout = timeout };
        _http.DefaultRequestHeaders.UserAgent.ParseAdd("trustserver-import");
    }

    /// <inheritdoc/>
    public string Description => $"notary-server {_baseUrl.GetLeftPart(UriPartial.Authority)} ({_credentials})";

    /// <inheritdoc/>
    public async Task<SourceInventory> OpenAsync(string? gunPrefix, CancellationToken cancellationToken)
    {
        var notes = new List<string>();
        var ping = await SendAsync(new Uri(_baseUrl, "v2/"), "registry:catalog:*", optional: true, cancellationToken).ConfigureAwait(false);
        using (ping)
        {
            if (ping.StatusCode is not (HttpStatusCode.OK or HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden))
            {
                throw new ImportSourceException($"{Description} is not a notary server: GET /v2/ answered {(int)ping.StatusCode}");
            }
        }

        IEnumerable<string> guns = _guns;
        if (_guns.Count == 0)
        {
            var all = await ReadChangefeedAsync(null, cancellationToken).ConfigureAwait(false)
                ?? throw new ImportSourceException($"{Description} does not let these credentials read the global changefeed (registry:catalog:*): name the repositories with --gun");
            foreach (var change in all)
            {
                if (!_changes.TryGetValue(change.Gun, out var list))
                {
                    _changes[change.Gun] = list = [];
                }

                list.Add(change.Change);
            }

            guns = _changes.Keys;
            notes.Add(string.Create(CultureInfo.InvariantCulture, $"repositories from the global changefeed: {_changes.Count}"));
        }

        var selected = guns.Where(g => gunPrefix is null || g.StartsWith(gunPrefix, StringComparison.Ordinal)).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToList();
        var highest = _changes.Values.SelectMany(c => c).Select(c => c.Id).DefaultIfEmpty().Max();
        return new SourceInventory([.. selected.Select(g => new SourceGun(g, _changes.GetValueOrDefault(g)?.Count ?? 0))], highest, notes);
    }

    /// <inheritdoc/>
    public async IAsyncEnumerable<SourceRepository> ReadAsync(IReadOnlyList<SourceGun> guns, int batchRows, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(guns);
        foreach (var gun in guns)
        {
            yield return await ReadRepositoryAsync(gun.Gun, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <inheritdoc/>
    public ValueTask DisposeAsync()
    {
        _http.Dispose();
        if (_trustedRoots is not null)
        {
            foreach (var certificate in _trustedRoots)
            {
                certificate.Dispose();
            }
        }

        return ValueTask.CompletedTask;
    }

    private async Task<SourceRepository> ReadRepositoryAsync(string gun, CancellationToken cancellationToken)
    {
        var problems = new List<RowProblem>();
        if (!IsSafeGun(gun))
        {
            return new SourceRepository(gun, [], [], [new RowProblem("repository", "not a GUN this import can name in a URL (letters, digits, . _ - / : only, no '..', at most 255 characters)")]);
        }

        var changes = _changes.GetValueOrDefault(gun);
        if (changes is null)
        {
            changes = (await ReadChangefeedAsync(gun, cancellationToken).ConfigureAwait(false))?.Select(c => c.Change).ToList();
            if (changes is null)
            {
                return new SourceRepository(gun, [], [], [new RowProblem("changefeed", "the credentials do not allow reading this repository (pull)")]);
            }
        }

        var files = new Dictionary<(string Role, long Version), ImportedFile>();
        var current = new Dictionary<string, long>(StringComparer.Ordinal);

        // The current files first: the versions to read go up to theirs (a publish during the import adds later ones).
        foreach (var role in new[] { RoleName.Timestamp, RoleName.Snapshot, RoleName.Root, RoleName.Targets })
        {
            var file = await GetFileAsync(gun, $"{role}.json", role, problems, cancellationToken).ConfigureAwait(false);
            if (file is not null)
            {
                current[role] = file.Version;
            }
        }

        if (current.Count == 0)
        {
            if (changes.Count == 0)
            {
                problems.Add(new RowProblem("repository", $"{Description} has no repository {gun}"));
            }

            // Deleted on the source: its changefeed only.
            return new SourceRepository(gun, [], problems.Count > 0 ? [] : changes, problems);
        }

        var pending = new Queue<string>([RoleName.Root, RoleName.Targets, RoleName.Snapshot, RoleName.Timestamp]);
        var seen = new HashSet<string>(pending, StringComparer.Ordinal);
        while (pending.TryDequeue(out var role))
        {
            var top = current.GetValueOrDefault(role);
            if (top == 0)
            {
                var file = await GetFileAsync(gun, $"{role}.json", role, problems, cancellationToken).ConfigureAwait(false);
                top = file?.Version ?? 0;
            }

            // Versions 1..current; a role no longer current (a removed delegation) is read until its first gap.
            for (var version = 1L; top == 0 || version <= top; version++)
            {
                var file = await GetFileAsync(gun, string.Create(CultureInfo.InvariantCulture, $"{version}.{role}.json"), role, problems, cancellationToken).ConfigureAwait(false);
                if (file is null)
                {
                    if (top == 0)
                    {
                        break;
                    }

                    continue;
                }

                files[(role, version)] = file;
                if (RoleName.IsTargetsRole(role))
                {
                    foreach (var delegated in DelegatedRoles(file.Data))
                    {
                        if (seen.Count < MaxRoles && seen.Add(delegated))
                        {
                            pending.Enqueue(delegated);
                        }
                    }
                }
            }
        }

        return new SourceRepository(gun, [.. files.Values.OrderBy(f => f.Role, StringComparer.Ordinal).ThenBy(f => f.Version)], changes, problems);
    }

    // The file at a metadata URL, or null when the server has none (404) or it is unusable (then a problem is added).
    private async Task<ImportedFile?> GetFileAsync(string gun, string name, string role, List<RowProblem> problems, CancellationToken cancellationToken)
    {
        var url = new Uri(_baseUrl, $"v2/{gun}/_trust/tuf/{name}");
        using var response = await SendAsync(url, $"repository:{gun}:pull", optional: false, cancellationToken).ConfigureAwait(false);
        if (response.StatusCode == HttpStatusCode.NotFound)
        {
            return null;
        }

        if (response.StatusCode != HttpStatusCode.OK)
        {
            problems.Add(new RowProblem(name, $"GET answered {(int)response.StatusCode}"));
            return null;
        }

        var data = await ReadBoundedAsync(response, MaxFileBytes, name, cancellationToken).ConfigureAwait(false);
        long version;
        try
        {
            version = SignedEnvelope.Parse(data).Version;
        }
        catch (TufFormatException ex)
        {
            problems.Add(new RowProblem(name, $"not valid TUF metadata: {ex.Message}"));
            return null;
        }

        var stored = response.Content.Headers.LastModified is { } modified && modified.Year > 1 ? modified.ToUniversalTime() : DateTimeOffset.UtcNow;
        return new ImportedFile(role, version, data, Convert.ToHexStringLower(SHA256.HashData(data)), stored);
    }

    // The changefeed of one GUN (or all, gun null), every page; null when the credentials do not allow it.
    private async Task<List<(string Gun, ImportedChange Change)>?> ReadChangefeedAsync(string? gun, CancellationToken cancellationToken)
    {
        var records = new List<(string, ImportedChange)>();
        var path = gun is null ? "v2/_trust/changefeed" : $"v2/{gun}/_trust/changefeed";
        var scope = gun is null ? "registry:catalog:*" : $"repository:{gun}:pull";
        var after = 0L;
        while (true)
        {
            using var response = await SendAsync(new Uri(_baseUrl, string.Create(CultureInfo.InvariantCulture, $"{path}?change_id={after}&records={ChangefeedPage}")), scope, optional: gun is null, cancellationToken).ConfigureAwait(false);
            if (response.StatusCode is HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden)
            {
                return null;
            }

            if (response.StatusCode != HttpStatusCode.OK)
            {
                throw new ImportSourceException($"{Description}: GET /{path} answered {(int)response.StatusCode}");
            }

            var page = ParseChanges(await ReadBoundedAsync(response, MaxFileBytes, path, cancellationToken).ConfigureAwait(false), path);
            records.AddRange(page);
            if (page.Count < ChangefeedPage)
            {
                return records;
            }

            after = page[^1].Change.Id;
        }
    }

    private List<(string Gun, ImportedChange Change)> ParseChanges(byte[] body, string path)
    {
        try
        {
            var list = new List<(string, ImportedChange)>();
            foreach (var record in JsonNode.Parse(body)?["records"]?.AsArray() ?? [])
            {
                var id = long.Parse((string)record!["ID"]!, NumberStyles.None, CultureInfo.InvariantCulture);
                var change = new ImportedChange(
                    id,
                    record["CreatedAt"]!.GetValue<DateTimeOffset>().ToUniversalTime(),
                    record["Version"]!.GetValue<long>(),
                    ((string?)record["SHA256"] ?? string.Empty).Trim(),
                    (string)record["Category"]!);
                list.Add(((string)record["GUN"]!, change));
            }

            return list;
        }
        catch (Exception ex) when (ex is JsonException or FormatException or InvalidOperationException or NullReferenceException or OverflowException)
        {
            throw new ImportSourceException($"{Description}: /{path} is not a notary changefeed: {ex.Message}", ex);
        }
    }

    // One GET, with Docker token auth: a 401 with a Bearer challenge is answered with a token for its scope, once.
    private async Task<HttpResponseMessage> SendAsync(Uri url, string scope, bool optional, CancellationToken cancellationToken)
    {
        var response = await GetAsync(url, scope, cancellationToken).ConfigureAwait(false);
        if (response.StatusCode != HttpStatusCode.Unauthorized || _credentials.BearerToken is not null)
        {
            return response;
        }

        var challenge = response.Headers.WwwAuthenticate.FirstOrDefault(h => string.Equals(h.Scheme, "Bearer", StringComparison.OrdinalIgnoreCase));
        if (challenge?.Parameter is null)
        {
            return response;
        }

        response.Dispose();
        var parameters = ParseChallenge(challenge.Parameter);
        if (!parameters.TryGetValue("realm", out var realm) || !Uri.TryCreate(realm, UriKind.Absolute, out var realmUrl) || realmUrl.Scheme is not ("https" or "http"))
        {
            throw new ImportSourceException($"{Description} asks for a token from an unusable realm");
        }

        var wanted = parameters.GetValueOrDefault("scope") ?? scope;
        _tokens[scope] = await FetchTokenAsync(realmUrl, parameters.GetValueOrDefault("service"), wanted, optional, cancellationToken).ConfigureAwait(false) ?? string.Empty;
        return await GetAsync(url, scope, cancellationToken).ConfigureAwait(false);
    }

    private async Task<HttpResponseMessage> GetAsync(Uri url, string scope, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, url);
        var token = _credentials.BearerToken ?? _tokens.GetValueOrDefault(scope);
        if (!string.IsNullOrEmpty(token))
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        }

        try
        {
            return await _http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken).ConfigureAwait(false);
        }
        catch (HttpRequestException ex)
        {
            throw new ImportSourceException($"{Description} cannot be reached: {ImportCommand.OneLine(ex)}", ex);
        }
        catch (TaskCanceledException ex) when (!cancellationToken.IsCancellationRequested)
        {
            throw new ImportSourceException($"{Description} did not answer within {_http.Timeout.TotalSeconds:0} s", ex);
        }
    }

    // The realm's token for a scope (Docker token protocol), or null when the realm refuses and the read is optional.
    private async Task<string?> FetchTokenAsync(Uri realm, string? service, string scope, bool optional, CancellationToken cancellationToken)
    {
        var query = new StringBuilder(realm.Query.Length > 1 ? realm.Query[1..] + "&" : string.Empty);
        if (_credentials.Username is not null)
        {
            query.Append("account=").Append(Uri.EscapeDataString(_credentials.Username)).Append('&');
        }

        if (service is not null)
        {
            query.Append("service=").Append(Uri.EscapeDataString(service)).Append('&');
        }

        query.Append("scope=").Append(Uri.EscapeDataString(scope));
        using var request = new HttpRequestMessage(HttpMethod.Get, new UriBuilder(realm) { Query = query.ToString() }.Uri);
        if (_credentials.Username is not null)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue(
                "Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes($"{_credentials.Username}:{_credentials.Password}")));
        }

        HttpResponseMessage response;
        try
        {
            response = await _http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken).ConfigureAwait(false);
        }
        catch (HttpRequestException ex)
        {
            throw new ImportSourceException($"the token realm {realm.GetLeftPart(UriPartial.Path)} cannot be reached: {ImportCommand.OneLine(ex)}", ex);
        }

        using (response)
        {
            if (response.StatusCode is HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden)
            {
                return optional ? null : throw new ImportSourceException($"the token realm {realm.GetLeftPart(UriPartial.Path)} refused the credentials ({(int)response.StatusCode})");
            }

            if (response.StatusCode != HttpStatusCode.OK)
            {
                throw new ImportSourceException($"the token realm {realm.GetLeftPart(UriPartial.Path)} answered {(int)response.StatusCode}");
            }

            var body = await ReadBoundedAsync(response, MaxTokenResponseBytes, "token", cancellationToken).ConfigureAwait(false);
            try
            {
                var json = JsonNode.Parse(body);
                return (string?)json?["access_token"] ?? (string?)json?["token"]
                    ?? throw new ImportSourceException($"the token realm {realm.GetLeftPart(UriPartial.Path)} answered without a token");
            }
            catch (Exception ex) when (ex is JsonException or InvalidOperationException)
            {
                throw new ImportSourceException($"the token realm {realm.GetLeftPart(UriPartial.Path)} answered no JSON", ex);
            }
        }
    }

    // realm="…",service="…",scope="…" (quoted values; commas inside quotes are part of the value).
    private static Dictionary<string, string> ParseChallenge(string parameter)
    {
        var result = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        var i = 0;
        while (i < parameter.Length)
        {
            var equals = parameter.IndexOf('=', i);
            if (equals < 0)
            {
                break;
            }

            var key = parameter[i..equals].Trim(' ', ',');
            i = equals + 1;
            string value;
            if (i < parameter.Length && parameter[i] == '"')
            {
                var end = parameter.IndexOf('"', i + 1);
                end = end < 0 ? parameter.Length : end;
                value = parameter[(i + 1)..end];
                i = end + 1;
            }
            else
            {
                var end = parameter.IndexOf(',', i);
                end = end < 0 ? parameter.Length : end;
                value = parameter[i..end].Trim();
                i = end;
            }

            result[key] = value;
        }

        return result;
    }

    private static async Task<byte[]> ReadBoundedAsync(HttpResponseMessage response, long limit, string what, CancellationToken cancellationToken)
    {
        if (response.Content.Headers.ContentLength > limit)
        {
            throw new ImportSourceException($"{what} is larger than {limit} bytes");
        }

        await using var stream = await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
        using var buffer = new MemoryStream();
        var chunk = new byte[81920];
        int read;
        while ((read = await stream.ReadAsync(chunk, cancellationToken).ConfigureAwait(false)) > 0)
        {
            if (buffer.Length + read > limit)
            {
                throw new ImportSourceException($"{what} is larger than {limit} bytes");
            }

            buffer.Write(chunk, 0, read);
        }

        return buffer.ToArray();
    }

    private static IEnumerable<string> DelegatedRoles(byte[] targetsFile)
    {
        try
        {
            return JsonNode.Parse(targetsFile)?["signed"]?["delegations"]?["roles"]?.AsArray()
                .Select(r => (string?)r?["name"])
                .Where(n => n is not null && RoleName.IsValid(n) && RoleName.IsTargetsRole(n))
                .Select(n => n!)
                .ToList() ?? [];
        }
        catch (Exception ex) when (ex is JsonException or InvalidOperationException)
        {
            return [];
        }
    }

    private bool ValidateWithCaFile(object sender, X509Certificate? certificate, X509Chain? chain, SslPolicyErrors errors)
    {
        if (certificate is null || errors.HasFlag(SslPolicyErrors.RemoteCertificateNameMismatch) || errors.HasFlag(SslPolicyErrors.RemoteCertificateNotAvailable))
        {
            return false;
        }

        using var custom = new X509Chain();
        custom.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        custom.ChainPolicy.CustomTrustStore.AddRange(_trustedRoots!);
        custom.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        if (chain is not null)
        {
            foreach (var element in chain.ChainElements.Skip(1))
            {
                custom.ChainPolicy.ExtraStore.Add(element.Certificate);
            }
        }

        using var leaf = new X509Certificate2(certificate);
        return custom.Build(leaf);
    }

    // Names from the command line or the source's changefeed go into URL paths: only what Docker names use.
    private static bool IsSafeGun(string gun) =>
        gun.Length is > 0 and <= 255 && !gun.Contains("..", StringComparison.Ordinal) && !gun.StartsWith('/')
        && gun.All(c => char.IsAsciiLetterOrDigit(c) || c is '.' or '_' or '-' or '/' or ':');
}
