using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Orleans.Connections.Security;

namespace Cluster.Silo.Hosting;

/// <summary>
/// Mutual TLS on the silo's inner ports (<c>Cluster:Tls:*</c>): every silo-to-silo connection (and the Orleans gateway,
/// when one is enabled) is TLS 1.2/1.3, and each end must present a certificate issued by the cluster's own certificate
/// authority. Off when <see cref="CertificatePath"/> is not set. See docs/security.md, "The cluster's inner ports".
/// </summary>
public sealed class ClusterTlsSettings
{
    /// <summary>
    /// This silo's certificate: a PEM file (the certificate, then any intermediates) with its key in
    /// <see cref="KeyPath"/>, or a PKCS#12 (<c>.pfx</c>/<c>.p12</c>) file holding both. It is used as server and as client
    /// certificate. Default: none (TLS off).
    /// </summary>
    public string? CertificatePath { get; set; }

    /// <summary>The PEM private key of a PEM <see cref="CertificatePath"/>. Default: none (the key is in the certificate file).</summary>
    public string? KeyPath { get; set; }

    /// <summary>The password of a PKCS#12 <see cref="CertificatePath"/>. Default: none.</summary>
    public string? CertificatePassword { get; set; }

    /// <summary>
    /// The PEM certificate(s) of the authority that issues every silo's certificate: a peer is accepted only with a
    /// certificate that chains to one of these (the machine's own trust store plays no part). Required with
    /// <see cref="CertificatePath"/>. Default: none.
    /// </summary>
    public string? CertificateAuthorityPath { get; set; }

    /// <summary>Whether TLS is on.</summary>
    public bool Enabled => !string.IsNullOrWhiteSpace(CertificatePath);
}

/// <summary>The loaded certificates of <see cref="ClusterTlsSettings"/>, and how they are wired into Orleans.</summary>
internal sealed class ClusterTls
{
    private readonly X509Certificate2Collection authorities;

    private ClusterTls(X509Certificate2 certificate, X509Certificate2Collection authorities)
    {
        Certificate = certificate;
        this.authorities = authorities;
    }

    public X509Certificate2 Certificate { get; }

    /// <summary>Loads the files <paramref name="settings"/> names; failures name the key and say what is wrong, never a secret.</summary>
    public static ClusterTls? Load(ClusterTlsSettings settings, List<string> failures)
    {
        if (!settings.Enabled)
        {
            if (!string.IsNullOrWhiteSpace(settings.KeyPath) || !string.IsNullOrWhiteSpace(settings.CertificateAuthorityPath))
            {
                failures.Add($"{Key}:CertificatePath: required when {Key}:KeyPath or {Key}:CertificateAuthorityPath is set.");
            }

            return null;
        }

        if (string.IsNullOrWhiteSpace(settings.CertificateAuthorityPath))
        {
            failures.Add($"{Key}:CertificateAuthorityPath: required with {Key}:CertificatePath (the authority every silo's certificate must chain to).");
            return null;
        }

        X509Certificate2 certificate;
        try
        {
            certificate = LoadCertificate(settings);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or CryptographicException or ArgumentException)
        {
            failures.Add($"{Key}:CertificatePath: cannot load '{settings.CertificatePath}' ({ex.GetType().Name}: {ex.Message}).");
            return null;
        }

        if (!certificate.HasPrivateKey)
        {
            failures.Add($"{Key}:KeyPath: '{settings.CertificatePath}' has no private key; set {Key}:KeyPath to its PEM key.");
            return null;
        }

        var authorities = new X509Certificate2Collection();
        try
        {
            authorities.ImportFromPemFile(settings.CertificateAuthorityPath);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or CryptographicException)
        {
            failures.Add($"{Key}:CertificateAuthorityPath: cannot load '{settings.CertificateAuthorityPath}' ({ex.GetType().Name}: {ex.Message}).");
            return null;
        }

        if (authorities.Count == 0)
        {
            failures.Add($"{Key}:CertificateAuthorityPath: '{settings.CertificateAuthorityPath}' holds no PEM certificate.");
            return null;
        }

        var tls = new ClusterTls(certificate, authorities);
        if (!tls.IsIssuedByAuthority(certificate, null))
        {
            failures.Add($"{Key}:CertificatePath: the certificate '{certificate.Subject}' does not chain to {Key}:CertificateAuthorityPath, or is expired.");
            return null;
        }

        return tls;
    }

    private static string Key => $"{ClusterHostOptions.SectionName}:{nameof(ClusterHostOptions.Tls)}";

    /// <summary>Both directions of every inner connection: TLS, a certificate required of the peer, and checked against the authority.</summary>
    public void Configure(TlsOptions options)
    {
        options.LocalCertificate = Certificate;
        options.RemoteCertificateMode = RemoteCertificateMode.RequireCertificate;
        options.ClientCertificateMode = RemoteCertificateMode.RequireCertificate;
        options.SslProtocols = System.Security.Authentication.SslProtocols.Tls12 | System.Security.Authentication.SslProtocols.Tls13;
        options.RemoteCertificateValidation = (certificate, chain, _) => IsIssuedByAuthority(certificate, chain);
    }

    /// <summary>
    /// Whether <paramref name="certificate"/> chains to the cluster's authority (with the intermediates the peer sent), is
    /// within its validity period, and, where it says what it is for, may authenticate TLS. The peer's name is not
    /// checked: silos are addressed by IP, and the authority issues certificates to silos only.
    /// </summary>
    public bool IsIssuedByAuthority(X509Certificate2 certificate, X509Chain? presented)
    {
        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.AddRange(authorities);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        if (presented is not null)
        {
            foreach (var element in presented.ChainElements)
            {
                chain.ChainPolicy.ExtraStore.Add(element.Certificate);
            }
        }

        return chain.Build(certificate) && HasTlsUsage(certificate);
    }

    private static bool HasTlsUsage(X509Certificate2 certificate)
    {
        foreach (var extension in certificate.Extensions)
        {
            if (extension is X509EnhancedKeyUsageExtension usages)
            {
                foreach (var usage in usages.EnhancedKeyUsages)
                {
                    if (usage.Value is "1.3.6.1.5.5.7.3.1" or "1.3.6.1.5.5.7.3.2")
                    {
                        return true;
                    }
                }

                return false;
            }
        }

        return true;
    }

    private static X509Certificate2 LoadCertificate(ClusterTlsSettings settings)
    {
        var path = settings.CertificatePath!;
        if (path.EndsWith(".pfx", StringComparison.OrdinalIgnoreCase) || path.EndsWith(".p12", StringComparison.OrdinalIgnoreCase))
        {
            return X509CertificateLoader.LoadPkcs12FromFile(path, settings.CertificatePassword);
        }

        using var pem = X509Certificate2.CreateFromPemFile(path, string.IsNullOrWhiteSpace(settings.KeyPath) ? null : settings.KeyPath);

        // A PEM-loaded key is ephemeral, which SslStream on Linux accepts; exporting it keeps it usable for the
        // process's lifetime on every platform.
        return X509CertificateLoader.LoadPkcs12(pem.Export(X509ContentType.Pkcs12), null);
    }
}
