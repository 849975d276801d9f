-- Industrial parks carry land and tenancy terms negotiated by commerce: shared on request (CONDITIONAL).
update hub.datasets set sharing_class = 'CONDITIONAL', description = 'Industrial parks (land and tenancy terms)'
where name = 'commerce.parks';
