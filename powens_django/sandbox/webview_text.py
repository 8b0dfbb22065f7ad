"""The sandbox Webview's words, in English and French.

The sandbox keeps out of the app's translation catalogue (it is the other side of the
wire, and ``makemessages`` skips it): its few page strings live here, one dict per
language, picked by the ``{lang}`` of the Webview URL. A language other than French
falls back to English, as Powens' Webview does for a language it lacks.
"""

from __future__ import annotations

EN: dict[str, str] = {
    "title": "Link your bank",
    "sandbox_note": "Powens Webview — sandbox: no real bank is involved",
    "cancel": "Cancel",
    "picker_title": "Choose your bank",
    "search_label": "Bank name",
    "search": "Search",
    "no_bank": "No bank matches your search.",
    "more_banks": "Only the first results are shown: refine your search.",
    "choose": "Choose",
    "back_to_banks": "Back to the list of banks",
    "credentials_title": "Sign in to your bank",
    "update_credentials_title": "Update your credentials",
    "connect": "Connect",
    "restricted": "This bank accepts no new connection.",
    "webauth_title": "Authorize access at your bank",
    "webauth_text": "Your bank asks you to authorize access to your accounts. In the "
    "sandbox, approve or refuse here.",
    "approve": "Approve",
    "refuse": "Refuse",
    "fields_title": "Additional information",
    "send": "Send",
    "decoupled_title": "Validate in your bank's app",
    "decoupled_text": "Open your bank's app and validate the connection, then continue.",
    "continue": "Continue",
    "validating_title": "Your bank is validating the connection",
    "validating_text": "This takes a few seconds.",
    "sca_title": "Strong authentication",
    "sca_text": "Your bank asks you to confirm your identity.",
    "confirm": "Confirm",
    "uptodate_title": "Your connection is up to date",
    "uptodate_text": "Continue to refresh it now.",
    "retry_title": "Your bank cannot be reached",
    "retry_text": "Your bank's website is not available for now. You may try again.",
    "retry": "Try again",
    "bank_says": "Your bank says:",
    "linked_title": "Your bank is connected",
    "linked_list": "Connected during this visit:",
    "link_another": "Link another bank",
    "finish": "Finish",
    "manage_title": "Your bank connections",
    "no_connection": "You have no bank connection.",
    "reconnect": "Reconnect",
    "delete": "Delete",
    "done": "Done",
    "deleted_notice": "The connection was deleted.",
    "updated_notice": "The connection was updated.",
    "error_title": "This page cannot be shown",
    "error_text": "The application sent you here with a request the Webview refuses:",
    "closed_title": "This page is no longer valid",
    "closed_text": "This Webview visit is over or has expired. Start again from the application.",
    "not_found_title": "Page not found",
    "sandbox_tools": "Sandbox: end this visit with an error",
    "state_ok": "Up to date",
    "state_wrongpass": "Wrong credentials",
    "state_additionalInformationNeeded": "Information needed",
    "state_decoupled": "To validate in your bank's app",
    "state_validating": "Being validated",
    "state_SCARequired": "Authentication needed",
    "state_webauthRequired": "Authorization needed",
    "state_passwordExpired": "Password expired",
    "state_actionNeeded": "Action needed on your bank's website",
    "state_temporary": "Temporarily unavailable",
    "state_other": "Needs attention",
}

FR: dict[str, str] = {
    "title": "Connecter votre banque",
    "sandbox_note": "Webview Powens — bac à sable : aucune vraie banque n'est utilisée",
    "cancel": "Annuler",
    "picker_title": "Choisissez votre banque",
    "search_label": "Nom de la banque",
    "search": "Rechercher",
    "no_bank": "Aucune banque ne correspond à votre recherche.",
    "more_banks": "Seuls les premiers résultats sont affichés : précisez votre recherche.",
    "choose": "Choisir",
    "back_to_banks": "Retour à la liste des banques",
    "credentials_title": "Identifiez-vous auprès de votre banque",
    "update_credentials_title": "Mettez à jour vos identifiants",
    "connect": "Se connecter",
    "restricted": "Cette banque n'accepte plus de nouvelle connexion.",
    "webauth_title": "Autorisez l'accès auprès de votre banque",
    "webauth_text": "Votre banque vous demande d'autoriser l'accès à vos comptes. Dans le "
    "bac à sable, autorisez ou refusez ici.",
    "approve": "Autoriser",
    "refuse": "Refuser",
    "fields_title": "Information complémentaire",
    "send": "Envoyer",
    "decoupled_title": "Validez dans l'application de votre banque",
    "decoupled_text": "Ouvrez l'application de votre banque, validez la connexion, puis continuez.",
    "continue": "Continuer",
    "validating_title": "Votre banque valide la connexion",
    "validating_text": "Cela prend quelques secondes.",
    "sca_title": "Authentification forte",
    "sca_text": "Votre banque vous demande de confirmer votre identité.",
    "confirm": "Confirmer",
    "uptodate_title": "Votre connexion est à jour",
    "uptodate_text": "Continuez pour l'actualiser maintenant.",
    "retry_title": "Votre banque est injoignable",
    "retry_text": "Le site de votre banque est indisponible pour le moment. Vous pouvez réessayer.",
    "retry": "Réessayer",
    "bank_says": "Votre banque indique :",
    "linked_title": "Votre banque est connectée",
    "linked_list": "Connectées pendant cette visite :",
    "link_another": "Connecter une autre banque",
    "finish": "Terminer",
    "manage_title": "Vos connexions bancaires",
    "no_connection": "Vous n'avez aucune connexion bancaire.",
    "reconnect": "Reconnecter",
    "delete": "Supprimer",
    "done": "Terminé",
    "deleted_notice": "La connexion a été supprimée.",
    "updated_notice": "La connexion a été mise à jour.",
    "error_title": "Cette page ne peut pas être affichée",
    "error_text": "L'application vous a envoyé ici avec une demande que la Webview refuse :",
    "closed_title": "Cette page n'est plus valide",
    "closed_text": "Cette visite de la Webview est terminée ou a expiré. Recommencez depuis "
    "l'application.",
    "not_found_title": "Page introuvable",
    "sandbox_tools": "Bac à sable : terminer cette visite sur une erreur",
    "state_ok": "À jour",
    "state_wrongpass": "Identifiants refusés",
    "state_additionalInformationNeeded": "Information demandée",
    "state_decoupled": "À valider dans l'application de votre banque",
    "state_validating": "En cours de validation",
    "state_SCARequired": "Authentification demandée",
    "state_webauthRequired": "Autorisation demandée",
    "state_passwordExpired": "Mot de passe expiré",
    "state_actionNeeded": "Action demandée sur le site de votre banque",
    "state_temporary": "Momentanément indisponible",
    "state_other": "À vérifier",
}

TEXTS: dict[str, dict[str, str]] = {"en": EN, "fr": FR}

TEMPORARY_STATES = frozenset({"websiteUnavailable", "rateLimiting", "bug"})


def language(code: str | None) -> str:
    """The language of the pages for a URL's ``{lang}``: ``fr`` or else ``en``."""
    value = (code or "").strip().lower()[:2]
    return value if value in TEXTS else "en"


def texts(lang: str) -> dict[str, str]:
    return TEXTS[language(lang)]


def state_label(state: str | None, lang: str) -> str:
    """What a connection's state means, for the person."""
    words = texts(lang)
    if state is None:
        return words["state_ok"]
    if state in TEMPORARY_STATES:
        return words["state_temporary"]
    return words.get(f"state_{state}", words["state_other"])
