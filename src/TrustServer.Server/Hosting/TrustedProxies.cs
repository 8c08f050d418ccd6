using System.Net;
using Microsoft.AspNetCore.HttpOverrides;
using Microsoft.Extensions.Options;
using TrustServer.Server.Options;

namespace TrustServer.Server.Hosting;

/// <summary>
/// Which reverse proxies may tell the server the client's address and scheme (<c>Server:ForwardedHeaders</c>):
/// <c>X-Forwarded-For</c>/<c>X-Forwarded-Proto</c> are honoured only on connections from these addresses. Empty (the
/// default): the headers are ignored from everyone.
/// </summary>
public sealed class TrustedProxyOptions
{
    /// <summary>Configuration section.</summary>
    public const string Section = "Server:ForwardedHeaders";

    /// <summary>IP addresses of trusted proxies (<c>10.1.2.3</c>, <c>fd00::5</c>).</summary>
    public List<string> KnownProxies { get; set; } = [];

    /// <summary>Networks of trusted proxies in CIDR notation (<c>10.244.0.0/16</c>).</summary>
    public List<string> KnownNetworks { get; set; } = [];

    /// <summary>Whether any proxy is trusted.</summary>
    public bool Any => KnownProxies.Count > 0 || KnownNetworks.Count > 0;
}

/// <summary>
/// ASP.NET Core's forwarded-headers middleware restricted to <see cref="TrustedProxyOptions"/>: behind a trusted proxy the
/// request's scheme (a relative <c>Auth:Token:Realm</c> becomes <c>https://…</c>) and remote address (audit log,
/// rate limits) are the client's. <c>X-Forwarded-Host</c> is never taken: the proxy passes <c>Host</c> itself.
/// </summary>
internal static class TrustedProxies
{
    public static WebApplicationBuilder AddTrustedProxies(this WebApplicationBuilder builder)
    {
        builder.Services.AddValidatedOptions<TrustedProxyOptions>(TrustedProxyOptions.Section);
        builder.Services.AddSingleton<IValidateOptions<TrustedProxyOptions>, Validator>();
        // PostConfigure: after the framework's own setup, which ASPNETCORE_FORWARDEDHEADERS_ENABLED=true turns into "empty
        // lists", and empty lists make the middleware (added by the framework then) trust everyone. With no proxy
        // configured nothing is forwarded at all.
        builder.Services.AddOptions<ForwardedHeadersOptions>().PostConfigure<IOptions<TrustedProxyOptions>>((forwarded, trusted) =>
        {
            forwarded.ForwardedHeaders = trusted.Value.Any ? ForwardedHeaders.XForwardedFor | ForwardedHeaders.XForwardedProto : ForwardedHeaders.None;
            // Not the framework's loopback defaults: only what is configured.
            forwarded.KnownProxies.Clear();
            forwarded.KnownIPNetworks.Clear();
            foreach (var proxy in trusted.Value.KnownProxies)
            {
                forwarded.KnownProxies.Add(IPAddress.Parse(proxy));
            }

            foreach (var network in trusted.Value.KnownNetworks)
            {
                forwarded.KnownIPNetworks.Add(System.Net.IPNetwork.Parse(network));
            }

            // Walk X-Forwarded-For back through every trusted hop (proxy chains), stopping at the first address that is
            // not a trusted proxy: that one is the client, whatever it put in the header itself.
            forwarded.ForwardLimit = null;
        });
        return builder;
    }

    /// <summary>Adds the middleware first in the pipeline when a proxy is trusted.</summary>
    public static WebApplication UseTrustedProxies(this WebApplication app)
    {
        if (app.Services.GetRequiredService<IOptions<TrustedProxyOptions>>().Value.Any)
        {
            app.UseForwardedHeaders();
        }

        return app;
    }

    /// <summary>Every entry must parse; the message names the ones that do not.</summary>
    private sealed class Validator : IValidateOptions<TrustedProxyOptions>
    {
        public ValidateOptionsResult Validate(string? name, TrustedProxyOptions options)
        {
            var errors = options.KnownProxies.Where(p => !IPAddress.TryParse(p, out _))
                .Select(p => $"Server:ForwardedHeaders:KnownProxies: '{p}' is not an IP address")
                .Concat(options.KnownNetworks.Where(n => !System.Net.IPNetwork.TryParse(n, out _))
                    .Select(n => $"Server:ForwardedHeaders:KnownNetworks: '{n}' is not a network in CIDR notation (e.g. 10.0.0.0/8)"))
                .ToList();
            return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
        }
    }
}
