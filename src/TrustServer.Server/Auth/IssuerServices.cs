using Microsoft.Extensions.Options;

namespace TrustServer.Server.Auth;

/// <summary>
/// A further token service of the built-in issuer (<c>Auth:Issuer:Services:&lt;i&gt;</c>), e.g. a Docker registry that
/// names the issuer as its token realm: the Docker Hub layout, with the registry and the trust server as two services
/// behind one issuer and one set of users and grants.
/// </summary>
public sealed class IssuerService
{
    /// <summary>The <c>service</c> the service's clients send (distribution's <c>auth.token.service</c>).</summary>
    public string Name { get; set; } = string.Empty;

    /// <summary>The <c>aud</c> of its tokens; the <see cref="Name"/> when unset (what distribution checks).</summary>
    public string? Audience { get; set; }

    /// <summary>
    /// Put before the service's repository names when they are matched against grants, so that grants written for
    /// GUNs cover the registry's names too: with <c>registry.example.com/</c> a request for <c>team/app</c> is granted
    /// what <c>registry.example.com/team/app</c> is. Must end with <c>/</c>. The token names the repository as requested.
    /// </summary>
    public string? RepositoryPrefix { get; set; }
}

/// <summary>A service the issuer signs tokens for: its audience and the prefix of its names for grant matching.</summary>
internal sealed record IssuedService(string Name, string Audience, string RepositoryPrefix)
{
    /// <summary>The name grants are matched against: repositories get <see cref="RepositoryPrefix"/>, other types are unchanged.</summary>
    public string GrantName(string type, string name) => type == "repository" ? RepositoryPrefix + name : name;
}

/// <summary>
/// The issuer's service table: the trust server's own <c>Auth:Token:Service</c> (audience = that name, names as they
/// are), unless listed, plus every <c>Auth:Issuer:Services</c> entry; and its start-up checks.
/// </summary>
internal static class IssuerServices
{
    /// <summary>The table by service name, or the problems that stop the start.</summary>
    public static (IReadOnlyDictionary<string, IssuedService> Services, IReadOnlyList<string> Errors) Build(string ownService, IEnumerable<IssuerService> configured)
    {
        var services = new Dictionary<string, IssuedService>(StringComparer.Ordinal);
        var errors = new List<string>();
        var index = 0;
        foreach (var entry in configured)
        {
            var key = $"Auth:Issuer:Services:{index++}";
            if (string.IsNullOrWhiteSpace(entry.Name))
            {
                errors.Add($"{key}:Name is required");
                continue;
            }

            var audience = string.IsNullOrEmpty(entry.Audience) ? entry.Name : entry.Audience;
            var prefix = entry.RepositoryPrefix ?? string.Empty;
            if (!services.TryAdd(entry.Name, new IssuedService(entry.Name, audience, prefix)))
            {
                errors.Add($"{key}:Name '{entry.Name}' is listed twice");
            }

            // A token of another service must never be accepted by this server's own token check.
            if (audience == ownService && entry.Name != ownService)
            {
                errors.Add($"{key}:Audience '{audience}' is Auth:Token:Service, the audience this server accepts: it would accept that service's tokens");
            }
            else if (entry.Name == ownService && audience != ownService)
            {
                errors.Add($"{key}: the service Auth:Token:Service must keep the audience '{ownService}' (this server accepts no other)");
            }

            if (prefix.Length > 0 && (!prefix.EndsWith('/') || !RepositoryNames.IsValid(prefix + "x")))
            {
                errors.Add($"{key}:RepositoryPrefix '{prefix}' must be a repository name prefix ending in '/' (e.g. registry.example.com/)");
            }
        }

        services.TryAdd(ownService, new IssuedService(ownService, ownService, string.Empty));
        foreach (var shared in services.Values.GroupBy(s => s.Audience, StringComparer.Ordinal).Where(g => g.Count() > 1 && g.Key != ownService))
        {
            errors.Add($"Auth:Issuer:Services: services {string.Join(", ", shared.Select(s => $"'{s.Name}'"))} share the audience '{shared.Key}': each service needs its own");
        }

        return (services, errors);
    }
}

/// <summary>Checks <c>Auth:Issuer:Services</c> against <c>Auth:Token:Service</c> at start.</summary>
internal sealed class IssuerServicesValidation(IOptions<AuthOptions> auth, IOptions<TokenAuthOptions> token) : IValidateOptions<TokenIssuerOptions>
{
    /// <inheritdoc/>
    public ValidateOptionsResult Validate(string? name, TokenIssuerOptions options)
    {
        if (options.Services.Count == 0)
        {
            return ValidateOptionsResult.Success;
        }

        if (!options.Enabled || !auth.Value.IsToken || string.IsNullOrEmpty(token.Value.Service))
        {
            return ValidateOptionsResult.Fail("Auth:Issuer:Services needs Auth:Issuer:Enabled, Auth:Mode=Token and Auth:Token:Service");
        }

        var errors = IssuerServices.Build(token.Value.Service, options.Services).Errors;
        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
