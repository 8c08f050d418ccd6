using System.Collections.Concurrent;
using System.Formats.Asn1;
using System.Reflection;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Net.Pkcs11Interop.Common;
using Net.Pkcs11Interop.HighLevelAPI;
using TrustServer.Tuf.Keys;

namespace TrustServer.Signing.Keys.Pkcs11;

/// <summary>A key pair generated in the token: its <c>CKA_ID</c>, <c>CKA_LABEL</c> and the public key as TUF stores it.</summary>
/// <param name="ObjectId">CKA_ID shared by the private and the public object (16 random bytes).</param>
/// <param name="Label">CKA_LABEL of both objects.</param>
/// <param name="Public">DER SPKI (ecdsa) or the raw 32-byte key (ed25519): the same bytes as a JWE key's <c>public</c>.</param>
public sealed record Pkcs11KeyPair(byte[] ObjectId, string Label, byte[] Public);

/// <summary>
/// One PKCS#11 token through Pkcs11Interop: key pairs generated inside it (private halves sensitive and
/// non-extractable), signatures by <c>C_Sign</c>, over a bounded pool of logged-in sessions that is safe for concurrent
/// use. Token errors are recovered without a restart: a failed session is dropped and the operation retried once on a
/// new one; when the module, the slot or the token itself failed (not initialized, device removed, token absent) the
/// module is loaded and logged in afresh first.
/// </summary>
public sealed partial class Pkcs11Token : IDisposable
{
    // PKCS#11 3.0 values Pkcs11Interop 5 has no names for.
    internal const CKK CkkEcEdwards = (CKK)0x40;
    internal const CKM CkmEcEdwardsKeyPairGen = (CKM)0x1055;
    internal const CKM CkmEddsa = (CKM)0x1057;

    // DER OIDs for CKA_EC_PARAMS: prime256v1 (1.2.840.10045.3.1.7) and id-Ed25519 (1.3.101.112).
    private static readonly byte[] P256Parameters = [0x06, 0x08, 0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x03, 0x01, 0x07];
    private static readonly byte[] Ed25519Parameters = [0x06, 0x03, 0x2B, 0x65, 0x70];

    // The token or the module is gone: load it and log in afresh.
    private static readonly HashSet<CKR> TokenFailures =
    [
        CKR.CKR_CRYPTOKI_NOT_INITIALIZED, CKR.CKR_DEVICE_REMOVED, CKR.CKR_DEVICE_ERROR, CKR.CKR_TOKEN_NOT_PRESENT,
        CKR.CKR_TOKEN_NOT_RECOGNIZED, CKR.CKR_SLOT_ID_INVALID, CKR.CKR_GENERAL_ERROR,
    ];

    // Only this session (or the handles it looked up) is bad: drop it, try once more on a new one.
    private static readonly HashSet<CKR> SessionFailures =
    [
        CKR.CKR_SESSION_HANDLE_INVALID, CKR.CKR_SESSION_CLOSED, CKR.CKR_USER_NOT_LOGGED_IN, CKR.CKR_OBJECT_HANDLE_INVALID,
        CKR.CKR_KEY_HANDLE_INVALID,
    ];

    private readonly Pkcs11Options _options;
    private readonly ILogger _logger;
    private readonly Pkcs11InteropFactories _factories = new();
    private readonly SemaphoreSlim _turns;
    private readonly Lock _openLock = new();
    private readonly ConcurrentBag<PooledSession> _idle = [];
    private readonly ConcurrentDictionary<string, IObjectHandle> _handles = new(StringComparer.Ordinal);
    private Connection? _connection;
    private int _lastGeneration;
    private bool _disposed;

    static Pkcs11Token() => NativeDl.Resolve();

    /// <summary>Creates the token client; nothing is loaded until <see cref="Open"/> or the first operation.</summary>
    public Pkcs11Token(Pkcs11Options options, ILogger<Pkcs11Token>? logger = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        _options = options;
        _logger = (ILogger?)logger ?? NullLogger.Instance;
        _turns = new SemaphoreSlim(Math.Max(1, options.MaxSessions));
    }

    /// <summary>The token's label as the token reports it (after <see cref="Open"/>).</summary>
    public string? TokenLabel => _connection?.TokenLabel;

    /// <summary>The slot the token is in (after <see cref="Open"/>).</summary>
    public ulong? SlotId => _connection?.Slot.SlotId;

    /// <summary>Whether the token generates and signs with Ed25519 keys (<c>CKM_EC_EDWARDS_KEY_PAIR_GEN</c> and <c>CKM_EDDSA</c>).</summary>
    public bool SupportsEd25519 => Connect().SupportsEd25519;

    /// <summary>
    /// Loads the module, finds the token and logs in, or throws <see cref="Pkcs11TokenException"/> with a one-line
    /// reason (hosts call it at start: a wrong library, token or PIN stops the start).
    /// </summary>
    public void Open() => Connect();

    /// <summary>
    /// Generates a key pair of <paramref name="algorithm"/> (<c>ecdsa</c> = P-256, <c>ed25519</c>) as token objects:
    /// the private key sensitive, non-extractable, sign-only.
    /// </summary>
    /// <exception cref="KeyAlgorithmNotSupportedException">The token lacks the mechanisms for the algorithm.</exception>
    public Task<Pkcs11KeyPair> GenerateKeyPairAsync(string algorithm, CancellationToken cancellationToken = default)
    {
        var (keyType, generator, parameters) = algorithm switch
        {
            KeyType.Ecdsa => (CKK.CKK_EC, CKM.CKM_EC_KEY_PAIR_GEN, P256Parameters),
            KeyType.Ed25519 => (CkkEcEdwards, CkmEcEdwardsKeyPairGen, Ed25519Parameters),
            _ => throw new ArgumentException($"algorithm {algorithm} not supported for create key", nameof(algorithm)),
        };
        if (algorithm == KeyType.Ed25519 && !SupportsEd25519)
        {
            throw new KeyAlgorithmNotSupportedException(algorithm, "the token offers no CKM_EC_EDWARDS_KEY_PAIR_GEN/CKM_EDDSA");
        }

        var objectId = RandomNumberGenerator.GetBytes(16);
        var label = "trustserver-" + Convert.ToHexStringLower(objectId);
        return RunAsync(session =>
        {
            var attributes = _factories.ObjectAttributeFactory;
            List<IObjectAttribute> publicTemplate =
            [
                attributes.Create(CKA.CKA_TOKEN, true),
                attributes.Create(CKA.CKA_PRIVATE, false),
                attributes.Create(CKA.CKA_VERIFY, true),
                attributes.Create(CKA.CKA_EC_PARAMS, parameters),
                attributes.Create(CKA.CKA_ID, objectId),
                attributes.Create(CKA.CKA_LABEL, label),
            ];
            List<IObjectAttribute> privateTemplate =
            [
                attributes.Create(CKA.CKA_TOKEN, true),
                attributes.Create(CKA.CKA_PRIVATE, true),
                attributes.Create(CKA.CKA_SENSITIVE, true),
                attributes.Create(CKA.CKA_EXTRACTABLE, false),
                attributes.Create(CKA.CKA_SIGN, true),
                attributes.Create(CKA.CKA_DECRYPT, false),
                attributes.Create(CKA.CKA_UNWRAP, false),
                attributes.Create(CKA.CKA_DERIVE, false),
                attributes.Create(CKA.CKA_KEY_TYPE, keyType),
                attributes.Create(CKA.CKA_ID, objectId),
                attributes.Create(CKA.CKA_LABEL, label),
            ];
            session.Session.GenerateKeyPair(
                _factories.MechanismFactory.Create(generator), publicTemplate, privateTemplate, out var publicKey, out _);
            var point = session.Session.GetAttributeValue(publicKey, [CKA.CKA_EC_POINT])[0].GetValueAsByteArray();
            return new Pkcs11KeyPair(objectId, label, PublicKeyBytes(algorithm, point));
        }, cancellationToken);
    }

    /// <summary>The public key of the pair with this <c>CKA_ID</c> (as <see cref="Pkcs11KeyPair.Public"/>), or null when the token holds no such public key.</summary>
    public Task<byte[]?> ReadPublicKeyAsync(byte[] objectId, string algorithm, CancellationToken cancellationToken = default) =>
        RunAsync(session =>
        {
            var found = session.Session.FindAllObjects(
            [
                _factories.ObjectAttributeFactory.Create(CKA.CKA_CLASS, CKO.CKO_PUBLIC_KEY),
                _factories.ObjectAttributeFactory.Create(CKA.CKA_ID, objectId),
            ]);
            return found.Count == 0
                ? null
                : PublicKeyBytes(algorithm, session.Session.GetAttributeValue(found[0], [CKA.CKA_EC_POINT])[0].GetValueAsByteArray());
        }, cancellationToken);

    /// <summary>
    /// Signs <paramref name="message"/> with the private key whose <c>CKA_ID</c> is <paramref name="objectId"/>: ecdsa
    /// as <c>CKM_ECDSA</c> over its SHA-256 digest (the raw r‖s PKCS#11 returns, what TUF stores), ed25519 as
    /// <c>CKM_EDDSA</c> over the message. Null when the token holds no such private key.
    /// </summary>
    public Task<byte[]?> SignAsync(byte[] objectId, string algorithm, ReadOnlySpan<byte> message, CancellationToken cancellationToken = default)
    {
        var (mechanism, input) = algorithm switch
        {
            KeyType.Ecdsa => (CKM.CKM_ECDSA, SHA256.HashData(message)),
            KeyType.Ed25519 => (CkmEddsa, message.ToArray()),
            _ => throw new ArgumentException($"cannot sign with {algorithm} keys", nameof(algorithm)),
        };
        var cacheKey = Convert.ToHexString(objectId);
        return RunAsync(session =>
        {
            if (!_handles.TryGetValue(cacheKey, out var handle) || session.Generation != _connection?.Generation)
            {
                var found = session.Session.FindAllObjects(
                [
                    _factories.ObjectAttributeFactory.Create(CKA.CKA_CLASS, CKO.CKO_PRIVATE_KEY),
                    _factories.ObjectAttributeFactory.Create(CKA.CKA_ID, objectId),
                ]);
                if (found.Count == 0)
                {
                    return null;
                }

                handle = _handles[cacheKey] = found[0];
            }

            return session.Session.Sign(_factories.MechanismFactory.Create(mechanism), handle, input);
        }, cancellationToken);
    }

    /// <inheritdoc />
    public void Dispose()
    {
        lock (_openLock)
        {
            _disposed = true;
            Disconnect();
        }

        _turns.Dispose();
    }

    // Runs one operation on a pooled session; after a session or token failure, once more on a new session.
    private async Task<T> RunAsync<T>(Func<PooledSession, T> operation, CancellationToken cancellationToken)
    {
        await _turns.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            for (var attempt = 1; ; attempt++)
            {
                var connection = Connect();
                PooledSession? session = null;
                try
                {
                    session = Rent(connection);
                    var result = operation(session);
                    _idle.Add(session);
                    return result;
                }
                catch (Pkcs11Exception ex) when (TokenFailures.Contains(ex.RV) || SessionFailures.Contains(ex.RV))
                {
                    if (session is not null)
                    {
                        CloseQuietly(session.Session);
                    }

                    // The other idle sessions are most likely as dead (closed together, or the module went away).
                    ResetIf(connection, ex.RV);

                    if (attempt >= 2)
                    {
                        throw new Pkcs11TokenException($"the PKCS#11 token failed and did not recover: {ex.Method} returned {ex.RV}", ex);
                    }
                }
                catch (Pkcs11Exception ex)
                {
                    if (session is not null)
                    {
                        _idle.Add(session);
                    }

                    throw new Pkcs11TokenException($"the PKCS#11 token refused the operation: {ex.Method} returned {ex.RV}", ex);
                }
            }
        }
        finally
        {
            _turns.Release();
        }
    }

    // An idle session of this connection, else a new one, logged in.
    private PooledSession Rent(Connection connection)
    {
        while (_idle.TryTake(out var idle))
        {
            if (idle.Generation == connection.Generation)
            {
                return idle;
            }

            CloseQuietly(idle.Session);
        }

        var session = connection.Slot.OpenSession(SessionType.ReadWrite);
        try
        {
            Login(session, connection.Pin);
        }
        catch
        {
            CloseQuietly(session);
            throw;
        }

        return new PooledSession(session, connection.Generation);
    }

    // Drops every idle session of the failed connection; after a token failure also the connection itself (slot and
    // login are found afresh), and after CKR_CRYPTOKI_NOT_INITIALIZED the module is initialized again.
    private void ResetIf(Connection failed, CKR rv)
    {
        lock (_openLock)
        {
            _handles.Clear();
            if (!ReferenceEquals(_connection, failed))
            {
                return;
            }

            while (_idle.TryTake(out var idle))
            {
                CloseQuietly(idle.Session);
            }

            if (TokenFailures.Contains(rv))
            {
                LogTokenReset(_logger, rv.ToString());
                _connection = null;
                if (rv == CKR.CKR_CRYPTOKI_NOT_INITIALIZED)
                {
                    Modules.Reinitialize(failed.Library);
                }
            }
        }
    }

    private Connection Connect()
    {
        if (Volatile.Read(ref _connection) is { } connection)
        {
            return connection;
        }

        lock (_openLock)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            return _connection ??= OpenConnection(++_lastGeneration);
        }
    }

    private Connection OpenConnection(int generation)
    {
        var path = _options.Library ?? throw new Pkcs11TokenException("Keys:Pkcs11:Library is not set");
        if (!File.Exists(path))
        {
            throw new Pkcs11TokenException($"the PKCS#11 module {path} (Keys:Pkcs11:Library) does not exist");
        }

        var library = Modules.Get(path, _factories);

        try
        {
            var slot = FindSlot(library);
            var tokenInfo = slot.GetTokenInfo();
            var mechanisms = slot.GetMechanismList();
            var supportsEd25519 = mechanisms.Contains(CkmEcEdwardsKeyPairGen) && mechanisms.Contains(CkmEddsa);
            var pin = _options.ReadPin();

            // Log in once now so that a wrong PIN stops the start; sessions opened later log in again if needed.
            var session = slot.OpenSession(SessionType.ReadWrite);
            try
            {
                Login(session, pin);
            }
            catch
            {
                CloseQuietly(session);
                throw;
            }

            _idle.Add(new PooledSession(session, generation));
            var connection = new Connection(library, slot, tokenInfo.Label.Trim(), supportsEd25519, generation, pin);
            LogTokenOpened(_logger, connection.TokenLabel, slot.SlotId, path, supportsEd25519);
            return connection;
        }
        catch (Exception ex)
        {
            if (ex is Pkcs11Exception { RV: CKR.CKR_CRYPTOKI_NOT_INITIALIZED })
            {
                // Finalized behind our back: initialize it again for the next attempt.
                Modules.Reinitialize(library);
            }

            throw ex switch
            {
                Pkcs11TokenException => ex,
                Pkcs11Exception { RV: CKR.CKR_PIN_INCORRECT or CKR.CKR_PIN_INVALID or CKR.CKR_PIN_LEN_RANGE } =>
                    new Pkcs11TokenException($"the PKCS#11 token refused the PIN ({((Pkcs11Exception)ex).RV}): check Keys:Pkcs11:PinFile or {Pkcs11Options.PinVariable}", ex),
                Pkcs11Exception { RV: CKR.CKR_PIN_LOCKED } =>
                    new Pkcs11TokenException("the PKCS#11 token's user PIN is locked (CKR_PIN_LOCKED)", ex),
                Pkcs11Exception p11 => new Pkcs11TokenException($"the PKCS#11 token cannot be opened: {p11.Method} returned {p11.RV}", ex),
                _ => new Pkcs11TokenException($"the PKCS#11 token cannot be opened: {OneLine(ex.Message)}", ex),
            };
        }
    }

    private ISlot FindSlot(IPkcs11Library library)
    {
        var slots = library.GetSlotList(SlotsType.WithTokenPresent);
        if (_options.SlotNumber is { } slotId)
        {
            return slots.FirstOrDefault(s => s.SlotId == slotId)
                ?? throw new Pkcs11TokenException($"no token in slot {slotId} (Keys:Pkcs11:SlotId) of {_options.Library}");
        }

        var label = _options.TokenLabel?.Trim();
        return slots.FirstOrDefault(s => s.GetTokenInfo().Label.Trim() == label)
            ?? throw new Pkcs11TokenException($"no token labelled '{label}' (Keys:Pkcs11:TokenLabel) in {_options.Library}");
    }

    private static void Login(ISession session, string pin)
    {
        try
        {
            session.Login(CKU.CKU_USER, pin);
        }
        catch (Pkcs11Exception ex) when (ex.RV == CKR.CKR_USER_ALREADY_LOGGED_IN)
        {
            // Login state is per application and token: another session already logged in.
        }
    }

    // Under _openLock: closes this client's idle sessions. The module stays loaded and initialized (it is the process's).
    private void Disconnect()
    {
        _connection = null;
        _handles.Clear();
        while (_idle.TryTake(out var idle))
        {
            CloseQuietly(idle.Session);
        }
    }

    private static void CloseQuietly(ISession session)
    {
        try
        {
            session.CloseSession();
        }
        catch (Pkcs11Exception)
        {
            // Already closed, or the token is gone: nothing to release.
        }
    }

    /// <summary>The TUF public key bytes from a <c>CKA_EC_POINT</c> (DER OCTET STRING, or the raw point as some modules return it).</summary>
    internal static byte[] PublicKeyBytes(string algorithm, byte[] point)
    {
        var raw = algorithm == KeyType.Ecdsa ? 65 : 32;
        if (point.Length != raw)
        {
            point = new AsnReader(point, AsnEncodingRules.DER).ReadOctetString();
        }

        if (algorithm == KeyType.Ed25519)
        {
            return point.Length == 32 ? point : throw new Pkcs11TokenException($"the token returned a {point.Length}-byte Ed25519 public key");
        }

        if (point.Length != 65 || point[0] != 0x04)
        {
            throw new Pkcs11TokenException("the token returned an EC point that is not an uncompressed P-256 point");
        }

        using var key = ECDsa.Create(new ECParameters
        {
            Curve = ECCurve.NamedCurves.nistP256,
            Q = new ECPoint { X = point[1..33], Y = point[33..] },
        });
        return key.ExportSubjectPublicKeyInfo();
    }

    private static string OneLine(string message) => message.ReplaceLineEndings(" ");

    [LoggerMessage(EventId = 3100, Level = LogLevel.Information, Message = "PKCS#11 token {TokenLabel} in slot {SlotId} opened through {Library} (Ed25519 supported: {SupportsEd25519})")]
    private static partial void LogTokenOpened(ILogger logger, string tokenLabel, ulong slotId, string library, bool supportsEd25519);

    [LoggerMessage(EventId = 3101, Level = LogLevel.Warning, Message = "PKCS#11 token failed ({ReturnValue}): closing its sessions and opening it again")]
    private static partial void LogTokenReset(ILogger logger, string returnValue);

    /// <summary>
    /// The loaded modules, one per path for the whole process: PKCS#11 initialization is per process, so two clients of
    /// one module (the server and a signer in one test process) must share it, and finalizing it would break the other.
    /// A module is never unloaded: an instance that is replaced (after someone finalized the module) keeps valid entry
    /// points for the clients still holding it.
    /// </summary>
    private static class Modules
    {
        private static readonly Lock Gate = new();
        private static readonly Dictionary<string, (IPkcs11Library Library, Pkcs11InteropFactories Factories)> Loaded = new(StringComparer.Ordinal);

        public static IPkcs11Library Get(string path, Pkcs11InteropFactories factories)
        {
            lock (Gate)
            {
                if (Loaded.TryGetValue(path, out var loaded))
                {
                    return loaded.Library;
                }

                var library = Load(path, factories);
                Loaded[path] = (library, factories);
                return library;
            }
        }

        // C_Initialize again (a new instance over the same loaded module) unless another client already did.
        public static void Reinitialize(IPkcs11Library failed)
        {
            lock (Gate)
            {
                foreach (var (path, loaded) in Loaded)
                {
                    if (ReferenceEquals(loaded.Library, failed))
                    {
                        // Forgotten first: when loading fails now, the next Get tries again.
                        Loaded.Remove(path);
                        Loaded[path] = (Load(path, loaded.Factories), loaded.Factories);
                        return;
                    }
                }
            }
        }

        private static IPkcs11Library Load(string path, Pkcs11InteropFactories factories)
        {
            try
            {
                return factories.Pkcs11LibraryFactory.LoadPkcs11Library(factories, path, AppType.MultiThreaded);
            }
            catch (Exception ex) when (ex is Pkcs11Exception or UnmanagedException or DllNotFoundException or BadImageFormatException)
            {
                throw new Pkcs11TokenException($"the PKCS#11 module {path} (Keys:Pkcs11:Library) cannot be loaded: {OneLine(ex.Message)}", ex);
            }
        }
    }

    /// <summary>
    /// Pkcs11Interop 5 imports <c>dlopen</c> from "libdl", which glibc systems without development packages only have
    /// as <c>libdl.so.2</c> (since glibc 2.34 <c>dlopen</c> is in libc itself): resolve the name to what exists.
    /// </summary>
    private static class NativeDl
    {
        public static void Resolve()
        {
            try
            {
                NativeLibrary.SetDllImportResolver(typeof(Pkcs11InteropFactories).Assembly, Load);
            }
            catch (InvalidOperationException)
            {
                // A resolver is already set for the assembly (by the host): leave it.
            }
        }

        private static IntPtr Load(string name, Assembly assembly, DllImportSearchPath? searchPath)
        {
            if (name != "libdl" || !OperatingSystem.IsLinux())
            {
                return IntPtr.Zero;
            }

            foreach (var candidate in new[] { "libdl.so", "libdl.so.2", "libc.so.6" })
            {
                if (NativeLibrary.TryLoad(candidate, assembly, searchPath, out var handle))
                {
                    return handle;
                }
            }

            return IntPtr.Zero;
        }
    }

    private sealed record PooledSession(ISession Session, int Generation);

    // A class, not a record: a record's ToString would print the PIN.
    private sealed class Connection(IPkcs11Library library, ISlot slot, string tokenLabel, bool supportsEd25519, int generation, string pin)
    {
        public IPkcs11Library Library { get; } = library;

        public ISlot Slot { get; } = slot;

        public string TokenLabel { get; } = tokenLabel;

        public bool SupportsEd25519 { get; } = supportsEd25519;

        public int Generation { get; } = generation;

        public string Pin { get; } = pin;
    }
}
